// Studio's only script: keyboard sending, socket status, idempotent appends, gentle autoscroll.
(() => {
  "use strict";

  // Enter sends, Shift+Enter is a newline (and IME composition is never interrupted).
  document.addEventListener("keydown", (event) => {
    const area = event.target;
    if (!(area instanceof HTMLTextAreaElement) || !area.hasAttribute("data-enter-submits")) return;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (area.value.trim() === "" && !area.form.querySelector(".field-error")) {
      area.form.requestSubmit();  // the server explains what is missing
      return;
    }
    area.form.requestSubmit();
  });

  // A turn can arrive twice (the POST answer and the socket): replace instead of appending again.
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const fragment = event.detail.fragment;
    if (!fragment || !fragment.children) return;
    for (const element of Array.from(fragment.children)) {
      const existing = element.id && document.getElementById(element.id);
      if (existing && existing !== element) {
        existing.replaceWith(element);
        window.htmx.process(element);
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
    else status("Reconnecting…", "connecting");
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
  document.addEventListener("htmx:wsAfterMessage", follow);
  document.addEventListener("DOMContentLoaded", follow);

  // After sending, focus returns to the prompt for the next instruction.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "composer") {
      const area = document.querySelector("#composer textarea");
      if (area) area.focus();
      pinned = true;
      follow();
    }
  });
})();
