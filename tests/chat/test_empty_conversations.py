"""Empty conversations do not pile up: "New conversation" reopens the person's own empty one, the
team does not see someone else's empty draft, and the leftovers from before are removed once."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import Client

from studio.chat import selectors, services
from studio.chat.models import Conversation
from tests.studio_world import (
    PASSWORD,
    join,
    make_conversation,
    make_project,
    make_user,
    personal_membership,
    submit,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_team_does_not_see_someone_elses_empty_draft() -> None:
    ada, bob = make_user("ada"), make_user("bob")
    project = make_project(ada, "Shared")
    join(project.team, bob)
    mine = make_conversation(ada, project)
    theirs = make_conversation(bob, project)
    assert [c.pk for c in selectors.conversations_for_project(project=project, viewer=ada)] == [mine.pk]
    assert [c.pk for c in selectors.conversations_for_project(project=project, viewer=bob)] == [theirs.pk]
    submit(theirs, bob, "a started conversation")
    shown = {c.pk for c in selectors.conversations_for_project(project=project, viewer=ada)}
    assert shown == {mine.pk, theirs.pk}, "once it has a turn, the team sees it"
    client = Client()
    client.login(username="ada", password=PASSWORD)
    assert f'/c/{theirs.pk}/"'.encode() in client.get(f"/p/{project.pk}/").content


def test_new_conversation_reopens_the_persons_own_empty_one() -> None:
    ada = make_user("ada")
    project = make_project(ada)
    membership = personal_membership(ada)
    first = services.conversation_start(project=project, membership=membership, user=ada)
    again = services.conversation_start(project=project, membership=membership, user=ada)
    assert again.pk == first.pk and Conversation.objects.filter(project=project).count() == 1


def test_the_leftovers_of_earlier_clicks_are_removed_once() -> None:
    ada, bob = make_user("ada"), make_user("bob")
    project = make_project(ada, "Old habits")
    join(project.team, bob)
    older = [make_conversation(ada, project) for _ in range(3)]  # three clicks, never used
    renamed = make_conversation(ada, project)
    services.conversation_rename(conversation=renamed, membership=personal_membership(ada), title="Ideas for later")
    used = make_conversation(ada, project)
    submit(used, ada, "a used one")
    newest_empty = make_conversation(ada, project)
    bobs = make_conversation(bob, project)

    migration = importlib.import_module("studio.chat.migrations.0005_remove_empty_conversations")
    migration.remove_leftovers(apps, None)
    left = set(Conversation.objects.filter(project=project).values_list("pk", flat=True))
    assert left == {renamed.pk, used.pk, newest_empty.pk, bobs.pk}
    assert not left & {c.pk for c in older}
