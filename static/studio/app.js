// Studio's only script: keyboard sending, socket status, idempotent appends, gentle autoscroll.
(() => {
  "use strict";

  // Enter sends, Shift+Enter is a newline (and IME composition is never interrupted).
  document.addEventListener("keydown", (event) => {
    const area = event.target;
    if (!(area instanceof HTMLTextAreaElement) || !area.hasAttribute("data-enter-submits")) return;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    // A composer swapped in moments ago is only taken over by htmx when it settles; take it over
    // now so this send goes through htmx too. (An empty prompt is sent: the server explains.)
    if (window.htmx) window.htmx.process(area.form);
    area.form.requestSubmit();
  });

  // Ctrl/Cmd+Enter sends from anywhere in the composer (a Settings field too).
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented) return;  // the prompt's own Enter handler sent it already
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
    const form = event.target instanceof Element && event.target.closest("#composer");
    if (!form) return;
    event.preventDefault();
    if (window.htmx) window.htmx.process(form);
    form.requestSubmit();
  });

  // Single-key shortcuts (listed by "?"), only while no text field has the focus.
  const typing = (target) => target instanceof Element
    && Boolean(target.closest("input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]), textarea, select, [contenteditable]"));
  const branchLink = (which) => {
    const focusedTurn = document.activeElement instanceof Element && document.activeElement.closest(".turn");
    const scope = focusedTurn && focusedTurn.querySelector(".branch-switch") ? [focusedTurn] : [];
    const switches = scope.length ? scope : Array.from(document.querySelectorAll(".branch-switch")).slice(-1);
    return switches.length ? switches[0].querySelector(`[data-branch-${which}]`) : null;
  };
  const SHORTCUTS = {
    "?": () => { const dialog = document.getElementById("shortcuts"); if (dialog && !dialog.open) dialog.showModal(); },
    "/": () => {
      const box = document.querySelector("[data-search-box]");
      if (box && box.getClientRects().length) box.focus();
      else window.location.assign("/search/");
    },
    p: () => document.querySelector("#composer textarea")?.focus(),
    n: () => { document.querySelector("#composer [data-new-image]")?.click(); SHORTCUTS.p(); },
    a: () => document.querySelector("#composer [data-attach]")?.click(),
    v: () => document.querySelector("[data-shortcut-versions]")?.click(),
    "[": () => branchLink("previous")?.click(),
    "]": () => branchLink("next")?.click(),
  };
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const action = Object.hasOwn(SHORTCUTS, event.key) ? SHORTCUTS[event.key] : null;
    if (!action || typing(event.target) || document.querySelector("dialog[open]")) return;
    event.preventDefault();
    action();
  });

  // Google's search suggestions are an iframe: replacing the element around it would request it
  // again (and abort the first request) on every update and every socket snapshot. An unchanged
  // panel is carried over into the new markup with moveBefore, which keeps a frame loaded.
  function replaceKeepingFrames(existing, incoming) {
    if (existing.isEqualNode(incoming)) return false;  // nothing changed: leave it be
    const panels = typeof existing.moveBefore === "function" ? existing.querySelectorAll("aside.grounding[id]") : [];
    if (!panels.length) { existing.replaceWith(incoming); return true; }
    const carried = [];
    for (const panel of panels) {  // the twin leaves before the new markup is live, so it never loads
      const twin = incoming.querySelector(`#${CSS.escape(panel.id)}`);
      if (!twin || !twin.isEqualNode(panel)) continue;
      const mark = document.createElement("template");
      twin.replaceWith(mark);
      carried.push([panel, mark]);
    }
    existing.before(incoming);
    for (const [panel, mark] of carried) { mark.parentNode.moveBefore(panel, mark); mark.remove(); }
    existing.remove();
    return true;
  }

  // A turn can arrive twice (the POST answer and the socket): replace instead of appending again.
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const fragment = event.detail.fragment;
    if (!fragment || !fragment.children) return;
    for (const element of Array.from(fragment.children)) {
      const existing = element.id && document.getElementById(element.id);
      if (existing && existing !== element) {
        if (replaceKeepingFrames(existing, element)) window.htmx.process(element);
        else element.remove();
      }
    }
    if (fragment.children.length === 0) event.detail.shouldSwap = false;
  });

  const status = (text, state) => {
    const badge = document.getElementById("live-status");
    if (!badge) return;
    badge.textContent = text;
    badge.className = `live live-${state}`;
  };
  document.addEventListener("htmx:wsOpen", () => status("Live", "open"));
  document.addEventListener("htmx:wsClose", (event) => {
    const code = event.detail && event.detail.event ? event.detail.event.code : 0;
    if (code === 4401) status("Signed out: reload to log in", "closed");
    else if (code === 4403) status("No access", "closed");
    else if (code === 4410) status("Link closed", "closed");
    else status("Reconnecting…", "connecting");
  });

  // A request that fails outside a form's own errors (a 403, a crash, no network) says so in words;
  // nothing was swapped, so the prompt and attachments are still where the person left them.
  const REQUEST_ERRORS = {
    403: "You no longer have access to this, or your session expired. Reload the page and sign in again.",
    404: "That no longer exists: it may have been archived or deleted. Reload the page.",
    413: "That upload is too large for the server. Attach smaller images (each under 20 MB).",
    429: "Too many requests at once. Wait a moment and try again.",
  };
  const noticeBox = document.getElementById("request-notice");  // parsed already: this script is deferred
  const notice = (text) => {  // an empty text hides it
    if (!noticeBox) return;
    if (text) noticeBox.querySelector(".notice-text").textContent = text;
    noticeBox.hidden = !text;
  };
  document.addEventListener("htmx:responseError", (event) => {
    const code = event.detail.xhr ? event.detail.xhr.status : 0;
    notice(REQUEST_ERRORS[code] || `The studio could not do that (error ${code}); nothing from it was saved. `
      + "Try again; if it keeps happening, tell an admin.");
  });
  document.addEventListener("htmx:sendError", () => {
    notice("Could not reach the studio. Check your connection and try again; nothing was sent.");
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (!(event.detail.elt instanceof Element && event.detail.elt.hasAttribute("data-queue-url"))) notice("");
  });

  // Queued images say where they stand ("3 in line"), asked every few seconds while any waits.
  function pollQueue() {
    const chat = document.querySelector("[data-queue-url]");
    const ids = Array.from(document.querySelectorAll(".response-queued"), (e) => e.id.replace("response-", ""));
    if (!chat || !ids.length || !window.htmx) return;
    window.htmx.ajax("GET", `${chat.dataset.queueUrl}?ids=${ids.slice(0, 200).join(",")}`, { source: chat, swap: "none" });
  }
  setInterval(pollQueue, 3000);
  document.addEventListener("DOMContentLoaded", pollQueue);
  if (noticeBox) noticeBox.querySelector(".notice-close").addEventListener("click", () => notice(""));

  // A title set by the first prompt or a rename arrives as fragments; the tab follows the heading.
  document.addEventListener("htmx:oobAfterSwap", () => {
    const heading = document.getElementById("chat-title");
    if (heading) document.title = `${heading.textContent} · Studio`;
  });

  // Keep the newest content in view while streaming, unless the person scrolled up to read.
  let pinned = true;
  const scroller = () => document.getElementById("chat-scroll");
  document.addEventListener("scroll", () => {
    const box = scroller();
    if (box) pinned = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }, true);
  const follow = () => {
    const box = scroller();
    if (box && pinned) box.scrollTop = box.scrollHeight;
  };
  document.addEventListener("htmx:oobAfterSwap", follow);

  // Older turns load as the person scrolls up (or with the button), and the view stays where it was.
  document.addEventListener("scroll", () => {
    const box = scroller();
    if (!box || box.scrollTop > 400) return;
    const more = box.querySelector("[data-older-turns]:not([disabled])");
    if (more && window.htmx) window.htmx.trigger(more, "studio:older");
  }, true);
  let fromBottom = null;
  document.addEventListener("htmx:beforeSwap", (event) => {
    const box = scroller();
    if (box && event.detail.target && event.detail.target.id === "older-turns") fromBottom = box.scrollHeight - box.scrollTop;
  });
  document.addEventListener("htmx:afterSwap", () => {
    const box = scroller();
    if (box && fromBottom !== null) box.scrollTop = box.scrollHeight - fromBottom;
    fromBottom = null;
  });
  document.addEventListener("htmx:wsAfterMessage", follow);
  document.addEventListener("DOMContentLoaded", follow);

  // Pop-over menus (Earlier versions, Conversation) close with Escape or a click elsewhere.
  const OPEN_MENUS = "details.picker[open], details.chat-menu[open], details.team-switch[open]";
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of document.querySelectorAll(`${OPEN_MENUS}, details.composer-options[open]`)) {
      const hadFocus = menu.contains(document.activeElement);
      menu.open = false;
      if (hadFocus) menu.querySelector("summary").focus();
    }
    closeContext();
  });

  // A swap that removed the focused element (a Cancel button, a socket update) must not leave the
  // focus nowhere: it goes back to the prompt.
  let lastFocused = null;
  document.addEventListener("focusout", (event) => { lastFocused = event.target; });
  function keepFocus() {
    if (document.activeElement && document.activeElement !== document.body) return;
    if (!(lastFocused instanceof Element) || lastFocused.isConnected) return;  // moved away on purpose
    lastFocused = null;
    document.querySelector("#composer textarea")?.focus({ preventScroll: true });
  }
  document.addEventListener("htmx:afterSettle", keepFocus);
  document.addEventListener("htmx:oobAfterSwap", keepFocus);

  // The thoughts panel stays as the person left it: their own open/close wins; untouched, a panel
  // they watched stream (open while running) stays open when the image finishes.
  const thoughtChoice = new Map();
  const watched = new Set();
  document.addEventListener("click", (event) => {
    const summary = event.target instanceof Element && event.target.closest("details.thoughts > summary");
    if (!summary) return;
    const id = summary.closest(".response")?.id;
    if (id) thoughtChoice.set(id, !summary.parentElement.open);
  });
  function restoreThoughts(root) {
    if (!(root instanceof Element)) return;
    const panels = root.matches("details.thoughts") ? [root] : root.querySelectorAll("details.thoughts");
    for (const panel of panels) {
      const response = panel.closest(".response");
      if (!response) continue;
      if (thoughtChoice.has(response.id)) panel.open = thoughtChoice.get(response.id);
      else if (watched.has(response.id)) panel.open = true;
      if (response.classList.contains("response-running")) watched.add(response.id);
    }
  }
  // Socket updates swap whole responses in: catch every inserted one, whichever path inserted it.
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) restoreThoughts(node);
  }).observe(document.documentElement, { childList: true, subtree: true });

  // Password fields get a Show/Hide toggle, so a long password can be checked before it is sent.
  function addRevealToggles(root) {
    for (const input of root.querySelectorAll("input[type=password]:not([data-reveal-ready])")) {
      input.dataset.revealReady = "1";
      const wrap = element("span", { className: "reveal-wrap" });
      const toggle = element("button", { type: "button", className: "link reveal", textContent: "Show" });
      toggle.setAttribute("aria-pressed", "false");
      if (input.id) toggle.setAttribute("aria-controls", input.id);
      toggle.addEventListener("click", () => {
        const shown = input.type === "password";
        input.type = shown ? "text" : "password";
        toggle.textContent = shown ? "Hide" : "Show";
        toggle.setAttribute("aria-pressed", String(shown));
      });
      input.replaceWith(wrap);
      wrap.append(input, toggle);
    }
  }
  document.addEventListener("DOMContentLoaded", () => addRevealToggles(document));
  document.addEventListener("htmx:load", (event) => addRevealToggles(event.target));

  // The Context card (what the next call sends) closes with Escape or its Close button.
  function closeContext() {
    const card = document.getElementById("next-call");
    if (!card || !card.firstElementChild) return;
    const hadFocus = card.contains(document.activeElement);
    card.replaceChildren();
    if (hadFocus) document.querySelector("#composer textarea")?.focus();
  }
  document.addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("[data-close-context]")) closeContext();
  });
  document.addEventListener("click", (event) => {
    for (const menu of document.querySelectorAll(OPEN_MENUS)) {
      if (!(event.target instanceof Node) || !menu.contains(event.target)) menu.open = false;
    }
  });

  // Forms that undo or destroy something ask first (data-confirm); archive can still be undone after.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // A response waiting to retry counts down to its next try ("retrying in 17 s (2 of 5)").
  function tickCountdowns() {
    for (const span of document.querySelectorAll("[data-countdown]")) {
      const left = Math.ceil((Date.parse(span.dataset.countdown) - Date.now()) / 1000);
      span.textContent = left > 0 ? `in ${left} s` : "now";
    }
  }
  document.addEventListener("htmx:load", tickCountdowns);
  setInterval(tickCountdowns, 1000);

  // ---- The composer: which image a turn edits, and its reference images -------------------

  // The "Earlier versions" picker's thumbnails load when it is first opened, not with every page.
  document.addEventListener("toggle", (event) => {
    const picker = event.target;
    if (!(picker instanceof HTMLDetailsElement) || !picker.matches("details.picker") || !picker.open) return;
    for (const picture of picker.querySelectorAll("img[data-src]")) {
      picture.src = picture.dataset.src;
      picture.removeAttribute("data-src");
    }
  }, true);

  // The composer is replaced after each send: a Settings panel the person opened stays open.
  let optionsOpen = false;
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (details instanceof HTMLDetailsElement && details.matches(".composer-options")) optionsOpen = details.open;
  }, true);
  document.addEventListener("htmx:load", () => {
    const options = document.querySelector("#composer .composer-options");
    if (options && optionsOpen) options.open = true;
  });

  const ROLES = [["object", "Object"], ["person", "Person"], ["style", "Style"]];
  let attachments = [];  // {kind: "file", file, url, role} | {kind: "version", id, thumb, role}
  const composer = () => document.getElementById("composer");

  const element = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  };

  // The model's reference limits, from the composer (the server checks them again on send).
  function limits() {
    const data = composer()?.dataset || {};
    return {
      total: Number(data.maxRefs || 14), person: Number(data.maxPeople || 5), object: Number(data.maxObjects || 6),
      bytes: Number(data.maxBytes || 20 * 1024 * 1024), accept: (data.accept || "").split(",").filter(Boolean),
      model: data.modelName || "The model",
    };
  }
  const megabytes = (bytes) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  const countRole = (role) => attachments.filter((item) => item.role === role).length;
  // A new reference is an object while the model takes more objects, else a style.
  const freeRole = () => (countRole("object") < limits().object ? "object" : "style");

  function trayMessage(text) {  // an empty text hides it
    const box = composer()?.querySelector("[data-tray-message]");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  // Why this item may not join the tray, in words; "" when it may.
  function refusal(item) {
    const limit = limits();
    if (attachments.length >= limit.total) {
      return `${limit.model} takes at most ${limit.total} reference images. Remove one to add another.`;
    }
    if (item.kind !== "file") return "";
    const name = item.file.name || "The file";
    const heic = /\.(heic|heif)$/i.test(name) && limit.accept.includes("image/heic");
    if (!limit.accept.includes(item.file.type) && !heic) {
      const kinds = limit.accept.map((type) => type.replace("image/", "").toUpperCase()).join(", ");
      return `“${name}” is not an image the model reads. Use ${kinds}.`;
    }
    if (item.file.size > limit.bytes) {
      return `“${name}” is ${megabytes(item.file.size)}; the limit is ${megabytes(limit.bytes)} per reference. Resize or compress it.`;
    }
    if (item.file.size === 0) return `“${name}” is empty (0 bytes). Attach the image again.`;
    return "";
  }

  function attach(item) {
    const why = refusal(item);
    if (why) { trayMessage(why); return false; }
    item.role = freeRole();
    attachments.push(item);
    return true;
  }

  function roleRefusal(role) {
    const limit = limits();
    if (role === "person" && countRole("person") > limit.person) {
      return `${limit.model} keeps at most ${limit.person} people consistent: label this one object or style.`;
    }
    if (role === "object" && countRole("object") > limit.object) {
      return `${limit.model} keeps at most ${limit.object} objects faithful: label this one person or style.`;
    }
    return "";
  }

  // A picture the browser cannot show (HEIC, a damaged file, a missing thumbnail) becomes a labelled
  // placeholder instead of a broken-image icon with its alt text spilling out.
  const BROKEN_SCOPE = ".tray, .ref-strip";
  function showPlaceholder(picture) {
    const holder = element("span", { className: "img-placeholder", textContent: "No preview" });
    holder.setAttribute("role", "img");
    holder.setAttribute("aria-label", `${picture.alt || "Image"}: no preview`);
    holder.title = picture.alt || "";
    picture.replaceWith(holder);
  }
  document.addEventListener("error", (event) => {
    const picture = event.target;
    if (picture instanceof HTMLImageElement && picture.closest(BROKEN_SCOPE)) showPlaceholder(picture);
  }, true);
  document.addEventListener("DOMContentLoaded", () => {  // those that failed before this script ran
    for (const picture of document.querySelectorAll(`:is(${BROKEN_SCOPE}) img`)) {
      if (picture.complete && picture.naturalWidth === 0) showPlaceholder(picture);
    }
  });

  function renderTray() {
    const form = composer();
    if (!form) return;
    const tray = form.querySelector("[data-tray]");
    const input = form.querySelector("[data-files]");
    const transfer = new DataTransfer();
    let fileIndex = 0;
    tray.replaceChildren();
    attachments.forEach((item, position) => {
      const order = element("input", { type: "hidden", name: "reference_order" });
      if (item.kind === "file") {
        transfer.items.add(item.file);
        order.value = `file:${fileIndex++}`;
      } else {
        order.value = `version:${item.id}`;
      }
      const role = element("select", { name: "reference_role" });
      role.setAttribute("aria-label", `Role of reference ${position + 1}`);
      for (const [value, label] of ROLES) role.append(element("option", { value, textContent: label }));
      role.value = item.role;
      role.addEventListener("change", () => {
        const previous = item.role;
        item.role = role.value;
        const why = roleRefusal(role.value);
        if (why) { item.role = previous; role.value = previous; }
        trayMessage(why);
      });
      const remove = element("button", { type: "button", className: "tray-remove", textContent: "×" });
      remove.setAttribute("aria-label", `Remove reference ${position + 1}`);
      remove.addEventListener("click", () => {
        if (item.url) URL.revokeObjectURL(item.url);
        attachments.splice(position, 1);
        trayMessage("");
        renderTray();
      });
      const picture = element("img", { src: item.url || item.thumb, alt: `Reference ${position + 1}`, width: 56, height: 56 });
      tray.append(element("div", { className: "tray-item" }, picture, order, role, remove));
    });
    if (attachments.length) {
      const total = limits().total;
      const full = attachments.length >= total;
      const counter = element("span", { className: `tray-count${full ? " tray-full" : ""}`, textContent: `${attachments.length}/${total}` });
      counter.title = full ? "The most this model takes" : "References attached";
      tray.append(counter);
    }
    input.files = transfer.files;
    costChanged();
  }

  // References and the image a turn edits change what a send costs: the estimate listens for this.
  function costChanged() {
    composer()?.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function addFiles(files) {
    trayMessage("");
    for (const file of files) {
      const item = { kind: "file", file, role: "object" };
      if (!attach(item)) break;
      item.url = URL.createObjectURL(file);
    }
    renderTray();
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const edit = target.closest("[data-edit-response]");
    if (edit && composer()) {
      composer().querySelector("input[name=parent_response]").value = edit.dataset.editResponse;
      document.getElementById("composer-parent").textContent = `Edits ${edit.dataset.editLabel}`;
      composer().querySelector("textarea").focus();
      costChanged();
      return;
    }
    if (target.closest("[data-new-image]") && composer()) {
      composer().querySelector("input[name=parent_response]").value = "none";
      document.getElementById("composer-parent").textContent = "Starts a new image";
      costChanged();
      return;
    }
    if (target.closest("[data-latest-image]") && composer()) {
      composer().querySelector("input[name=parent_response]").value = "latest";
      document.getElementById("composer-parent").textContent = "Edits the newest image on this branch";
      costChanged();
      return;
    }
    if (target.closest("[data-attach]")) {
      const picker = element("input", { type: "file", multiple: true, accept: composer()?.dataset.accept || "image/*" });
      picker.addEventListener("change", () => addFiles(picker.files));
      picker.click();
      return;
    }
    const version = target.closest("[data-pick-version]");
    if (version) {
      trayMessage("");
      attach({ kind: "version", id: version.dataset.pickVersion, thumb: version.dataset.thumb, role: "object" });
      renderTray();
      const details = version.closest("details");
      if (details) details.open = false;
    }
  });

  document.addEventListener("dragover", (event) => {
    const zone = event.target instanceof Element && event.target.closest("#composer");
    if (zone) { event.preventDefault(); zone.classList.add("dragging"); }
  });
  document.addEventListener("dragleave", (event) => {
    const zone = event.target instanceof Element && event.target.closest("#composer");
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    const zone = event.target instanceof Element && event.target.closest("#composer");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    addFiles(event.dataTransfer.files);
  });
  document.addEventListener("paste", (event) => {
    if (!(event.target instanceof Element) || !event.target.closest("#composer")) return;
    const files = Array.from(event.clipboardData ? event.clipboardData.files : []).filter((f) => f.type.startsWith("image/"));
    if (files.length) { event.preventDefault(); addFiles(files); }
  });

  // Version compare: the divider reveals B over A; drag it on the picture or move it with the keys.
  function setSwipe(stage, value) {
    const shown = Math.max(0, Math.min(100, value));
    stage.querySelector("[data-swipe-top]").style.clipPath = `inset(0 ${100 - shown}% 0 0)`;
    const divider = stage.querySelector("[data-swipe-divider]");
    divider.style.left = `${shown}%`;
    divider.setAttribute("aria-valuenow", String(Math.round(shown)));
    divider.setAttribute("aria-valuetext", `${Math.round(shown)}% of B shown`);
  }
  function frameSwipe(stage) {  // the frame takes the wider of the two shapes, at most 72% of the screen's height
    const ratios = stage.dataset.sizes.split(" ").map((size) => { const [w, h] = size.split("x").map(Number); return w / h; });
    const ratio = Math.max(...ratios);
    stage.style.aspectRatio = String(ratio);
    stage.style.width = `min(100%, calc(72vh * ${ratio}))`;
    setSwipe(stage, 50);
  }
  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("[data-swipe]").forEach(frameSwipe));
  const swipeAt = (stage, clientX) => {
    const box = stage.getBoundingClientRect();
    setSwipe(stage, ((clientX - box.left) / box.width) * 100);
  };
  document.addEventListener("pointerdown", (event) => {
    const stage = event.target instanceof Element && event.target.closest("[data-swipe]");
    if (!stage || event.button !== 0) return;
    event.preventDefault();  // no mousedown follows: the focus stays on the divider, nothing is selected
    stage.setPointerCapture(event.pointerId);
    stage.dataset.dragging = "1";
    swipeAt(stage, event.clientX);
    stage.querySelector("[data-swipe-divider]").focus({ preventScroll: true });
  });
  document.addEventListener("pointermove", (event) => {
    const stage = event.target instanceof Element && event.target.closest("[data-swipe]");
    if (stage && stage.dataset.dragging) swipeAt(stage, event.clientX);
  });
  const stopDrag = (event) => {
    const stage = event.target instanceof Element && event.target.closest("[data-swipe]");
    if (stage) delete stage.dataset.dragging;
  };
  document.addEventListener("pointerup", stopDrag);
  document.addEventListener("pointercancel", stopDrag);
  document.addEventListener("keydown", (event) => {
    const divider = event.target instanceof Element && event.target.closest("[data-swipe-divider]");
    if (!divider) return;
    const now = Number(divider.getAttribute("aria-valuenow"));
    const step = event.shiftKey ? 10 : 2;
    const moves = {
      ArrowLeft: now - step, ArrowDown: now - step, ArrowRight: now + step, ArrowUp: now + step,
      PageDown: now - 10, PageUp: now + 10, Home: 0, End: 100,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    setSwipe(divider.closest("[data-swipe]"), moves[event.key]);
  });
  document.addEventListener("change", (event) => {
    const pick = event.target instanceof Element && event.target.closest("[data-compare-pick]");
    if (!pick) return;
    if (document.querySelectorAll("[data-compare-pick]:checked").length > 2) pick.checked = false;
    const ticked = Array.from(document.querySelectorAll("[data-compare-pick]:checked"));
    const status = document.querySelector("[data-compare-status]");
    if (status) {
      const names = ticked.map((box) => box.nextElementSibling?.textContent.trim() || "");
      status.textContent = ticked.length === 2 ? `Compare ${names[0]} with ${names[1]}.`
        : ticked.length === 1 ? `${names[0]} ticked: tick one more.` : "Tick two versions to compare them.";
    }
  });

  // After sending, focus returns to the prompt. A refused send (422) keeps its attachments.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (!event.detail.target || event.detail.target.id !== "composer") return;
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      renderTray();
    } else {
      for (const item of attachments) if (item.url) URL.revokeObjectURL(item.url);
      attachments = [];
    }
    const area = document.querySelector("#composer textarea");
    if (area) area.focus();
    pinned = true;
    follow();
  });
})();
