"""Where a run's progress is shown: a Slack thread or a GitHub issue (a "face" of the run)."""

from __future__ import annotations

from typing import Protocol

from fixloop.integrations.github_bot import IssueBot
from fixloop.integrations.slack.blocks import approval_blocks, item_blocks, item_text, section
from fixloop.integrations.slack.thread import SlackPoster
from fixloop.server.buttons import ButtonSigner
from fixloop.server.progress import ProgressItem


class ChatThread(Protocol):
    key: str

    def say(self, text: str) -> None: ...

    def publish(self, items: list[ProgressItem]) -> None: ...


class SlackThread:
    """A run's Slack thread: ``slack:<channel>:<thread_ts>``."""

    def __init__(
        self,
        poster: SlackPoster,
        channel: str,
        thread_ts: str,
        thread_id: str,
        run_url: str = "",
        *,
        buttons: ButtonSigner | None = None,
    ) -> None:
        self.key = slack_key(channel, thread_ts)
        self.poster, self.channel, self.thread_ts = poster, channel, thread_ts
        self.thread_id, self.run_url = thread_id, run_url
        self.buttons = buttons

    def say(self, text: str) -> None:
        self.poster.post(self.channel, text, thread_ts=self.thread_ts)

    def publish(self, items: list[ProgressItem]) -> None:
        for item in items:
            if item.kind == "approval-needed":
                self._ask_approval(item)
            else:
                signer = self._why_value if self.buttons is not None else None
                blocks = item_blocks(item, run_url=self.run_url, why_value=signer)
                self.poster.post(self.channel, item_text(item), thread_ts=self.thread_ts, blocks=blocks)

    def _why_value(self, category: str) -> str:
        assert self.buttons is not None
        return self.buttons.why_value(self.thread_id, category, channel=self.channel, thread_ts=self.thread_ts)

    def _ask_approval(self, item: ProgressItem) -> None:
        """Post the request, then add buttons signed for that very message (its ts is known only once posted)."""
        text = item_text(item)
        ts = self.poster.post(self.channel, text, thread_ts=self.thread_ts, blocks=[section(":raised_hand: " + text)])
        if self.buttons is None or not ts:
            return  # no key: approve by mentioning the bot in the thread
        heads = item.data.get("heads", {})
        value = self.buttons.value(self.thread_id, heads, channel=self.channel, message_ts=ts)
        blocks = approval_blocks(item, self.thread_id, value, run_url=self.run_url)
        self.poster.update(self.channel, ts, text, blocks=blocks)


class IssueThread:
    """A run's GitHub issue: ``github:<owner/name>#<number>``; new items go out as one comment."""

    def __init__(self, bot: IssueBot, repo: str, number: int, thread_id: str, run_url: str = "") -> None:
        self.key = github_key(repo, number)
        self.bot, self.repo, self.number, self.thread_id = bot, repo, number, thread_id
        self.run_url = run_url  # the run's page, when the server has a public URL

    def say(self, text: str) -> None:
        self.bot.comment(self.repo, self.number, text)

    def publish(self, items: list[ProgressItem]) -> None:
        if items:
            self.bot.comment(self.repo, self.number, issue_markdown(items, self.thread_id, run_url=self.run_url))


def issue_markdown(items: list[ProgressItem], thread_id: str, *, run_url: str = "") -> str:
    """Progress as Markdown; each category's five whys folded in a ``<details>`` block; the run page linked."""
    page = f" · [run page]({run_url})" if run_url else ""
    lines = [f"**fixloop** run `{thread_id}`{page}", ""]
    for item in items:
        text = item.text.replace("*", "**")
        links = " ".join(f"[{link.text}]({link.url})" for link in item.links)
        lines.append(f"- {text} {links}".rstrip())
        view = item.category
        if view is not None and view.whys:
            lines += ["", "  <details><summary>Five whys</summary>", ""]
            for n, step in enumerate(view.whys, start=1):
                cite = f" _[{', '.join(step.evidence)}]_" if step.evidence else ""
                lines.append(f"  {n}. **{step.question}** {step.answer}{cite}")
            lines += ["", "  </details>", ""]
        if item.kind == "approval-needed":
            heads = " ".join(sha[:12] for _, sha in sorted(item.data.get("heads", {}).items())) or "<head sha>"
            lines.append(
                f"  Reply `/fixloop approve {heads}` (the head commit you approve) or `/fixloop reject <reason>`"
                " (authorized approvers only)."
            )
    return "\n".join(lines)


def slack_key(channel: str, thread_ts: str) -> str:
    return f"slack:{channel}:{thread_ts}"


def github_key(repo: str, number: int) -> str:
    return f"github:{repo}#{number}"
