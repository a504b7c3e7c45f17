"""Search over what a person may see: project names, conversation titles and prompts of their teams.

Prompts are searched with PostgreSQL's full-text search in scaled mode (an expression GIN index made
by migration 0004 serves exactly `prompt_vector`), and word by word with LIKE on SQLite, where the
embedded studio's data is small enough to scan."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import and_

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet

from studio.accounts.models import User

from .models import Conversation, Project, Turn

LIMIT = 20
MAX_QUERY = 200
FTS_CONFIG = "english"


def prompt_vector() -> SearchVector:
    """Must stay the expression the index was built on, or PostgreSQL will not use the index."""
    return SearchVector("prompt", config=FTS_CONFIG)


@dataclass(frozen=True)
class SearchResults:
    query: str
    projects: list[Project]
    conversations: list[Conversation]
    turns: list[Turn]

    @property
    def empty(self) -> bool:
        return not (self.projects or self.conversations or self.turns)


def _words(query: str) -> list[str]:
    return [word for word in query.split() if word][:8]


def _all_words(field: str, words: list[str]) -> Q:
    return reduce(and_, (Q(**{f"{field}__icontains": word}) for word in words))


def _full_text() -> bool:
    return connection.vendor == "postgresql"


def matching_turns(turns: QuerySet[Turn], query: str, words: list[str]) -> QuerySet[Turn]:
    if _full_text():
        search = SearchQuery(query, search_type="websearch", config=FTS_CONFIG)
        found = turns.alias(vector=prompt_vector()).filter(vector=search)
        return found.annotate(rank=SearchRank(prompt_vector(), search)).order_by("-rank", "-created_at")
    return turns.filter(_all_words("prompt", words)).order_by("-created_at")


def search(*, user: User, query: str) -> SearchResults:
    """Everything matching `query` in the person's teams (open projects and conversations only)."""
    query = " ".join(query.split())[:MAX_QUERY]
    words = _words(query)
    if not words:
        return SearchResults(query=query, projects=[], conversations=[], turns=[])
    projects = Project.objects.filter(team__memberships__user=user, archived_at__isnull=True)
    conversations = Conversation.objects.filter(project__in=projects, archived_at__isnull=True)
    turns = Turn.objects.filter(conversation__in=conversations)
    return SearchResults(
        query=query,
        projects=list(
            projects.filter(_all_words("name", words)).select_related("team").order_by("-updated_at")[:LIMIT]
        ),
        conversations=list(
            conversations.filter(_all_words("title", words)).select_related("project").order_by("-updated_at")[:LIMIT]
        ),
        turns=list(matching_turns(turns, query, words).select_related("conversation__project", "author")[:LIMIT]),
    )
