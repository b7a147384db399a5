"""What a business user shares with a third-party developer about an API-triggered rule (seed
001, "Share Rule ID"): the rule's name, id and type, the environment, the URL to call there and
the integration guide, as a panel and as an email. Pure.

Never a credential: the email names no client and carries no secret; the seed advises sending
the client id and the client secret separately, and the secret is not stored anyway."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

from schemas.programme import ProgrammeConfig, Rule

RULE_TYPES: Final = {"earn": "Earn Points", "redeem": "Redeem Points"}
ENVIRONMENTS: Final = {"production": "Production", "staging": "Staging"}
GUIDE_PATH: Final = "/guides/api-triggered-rules"


@dataclass(frozen=True, slots=True)
class ShareInfo:
    rule_name: str
    rule_id: str
    rule_type: str
    environment: str
    url_endpoint: str
    guide_url: str

    def lines(self) -> list[tuple[str, str]]:
        return [
            ("Rule Name", self.rule_name),
            ("Rule ID", self.rule_id),
            ("Rule Type", self.rule_type),
            ("Environment", self.environment),
            ("URL Endpoint", self.url_endpoint),
            ("API Integration Guide", self.guide_url),
        ]

    @property
    def subject(self) -> str:
        return f"API-triggered rule {self.rule_name} ({self.environment})"

    @property
    def body(self) -> str:
        details = "\n".join(f"{label}: {value}" for label, value in self.lines())
        return (
            "Hello,\n\nHere is what you need to trigger our loyalty rule through the API:\n\n"
            f"{details}\n\n"
            f"Send POST {self.url_endpoint} with your client id and client secret in the "
            "X-Client-Id and X-Client-Secret headers, as the guide shows. For security, we "
            "send you the client id and the client secret separately, never in this email.\n"
        )

    @property
    def mailto(self) -> str:
        """A `mailto:` link that opens an email with this text (no recipient: the user
        chooses)."""
        return f"mailto:?subject={quote(self.subject)}&body={quote(self.body)}"


def share_info(
    config: ProgrammeConfig, rule: Rule, api_urls: Mapping[str, str], console_url: str
) -> ShareInfo:
    """`api_urls`: the public base URL of the trigger API by environment; `console_url`: where
    this console serves the guide."""
    base = api_urls[config.environment].rstrip("/")
    return ShareInfo(
        rule_name=rule.name or rule.rule_id,
        rule_id=rule.rule_id,
        rule_type=RULE_TYPES[rule.kind],
        environment=ENVIRONMENTS[config.environment],
        url_endpoint=f"{base}/api/rules/{quote(rule.rule_id, safe='')}/trigger",
        guide_url=f"{console_url.rstrip('/')}{GUIDE_PATH}",
    )
