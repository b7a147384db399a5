"""Every main page's forms are labelled and usable from the keyboard (issue 15): each visible
field has a label a screen reader announces, and Tab alone reaches every field, button and link
in turn; and every form that posts carries the session's CSRF token. The pages are those of a
programme with partners, event types and rules, as its owner sees them (where every form is
offered)."""

import pytest
from playwright.async_api import Page

from tests.e2e.console.conftest import Accounts, log_in

pytestmark = pytest.mark.e2e
PROGRAMME = "/programmes/console-rules"
PAGES = [
    "/",
    "/programmes/new",
    PROGRAMME,
    f"{PROGRAMME}/partners",
    f"{PROGRAMME}/partners/reader",
    f"{PROGRAMME}/keys",
    f"{PROGRAMME}/event-types",
    f"{PROGRAMME}/event-types/watched_video",
    f"{PROGRAMME}/rules",
    f"{PROGRAMME}/rules/new",
    f"{PROGRAMME}/rules/video-10",
    f"{PROGRAMME}/rules/video-10/history",
    f"{PROGRAMME}/rules/video-10/share",
    f"{PROGRAMME}/clients",
    f"{PROGRAMME}/code",
    f"{PROGRAMME}/try",
    f"{PROGRAMME}/backtest",
    f"{PROGRAMME}/shadow-runs",
    f"{PROGRAMME}/users",
    f"{PROGRAMME}/webhooks",
    f"{PROGRAMME}/offers",
    f"{PROGRAMME}/myrewards",
    "/dead-letters",
    "/audit",
]
TABS_MAX = 400

# Visible fields without a label, aria-label or aria-labelledby (a placeholder is no label).
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(e => !['hidden', 'submit', 'button'].includes(e.type) && e.getClientRects().length)
    .filter(e => !e.labels.length && !e.getAttribute('aria-label')
                 && !e.getAttribute('aria-labelledby'))
    .map(e => e.name || e.id || e.outerHTML.slice(0, 100))"""

# Numbers every visible, enabled control of the page; returns how many. What a closed menu
# (<details>) holds is reached by opening it from the keyboard (tests/e2e/console/
# test_rules_access.py), its <summary> by Tab; of a group of radio buttons Tab reaches the checked
# one, and the arrow keys choose among them.
NUMBER_CONTROLS = """() => {
    const shown = e => {
        const closed = e.closest('details:not([open])');
        return !closed || (e.tagName === 'SUMMARY' && e.parentElement === closed);
    };
    const tabbed = e => e.type !== 'radio' || e.checked;
    const controls = [...document.querySelectorAll(
        'a[href], button, input, select, textarea, summary, [tabindex]')]
        .filter(e => e.type !== 'hidden' && !e.disabled && e.getClientRects().length
                     && e.tabIndex >= 0 && shown(e) && tabbed(e));
    controls.forEach((e, i) => e.dataset.keyboardTest = String(i));
    return controls.length;
}"""
# Forms that post without the CSRF token field (htmx requests send it as a header as well).
WITHOUT_CSRF = """() => [...document.querySelectorAll('form')]
    .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'post'
                 && !f.querySelector('input[name=csrf_token][value]:not([value=""])'))
    .map(f => f.getAttribute('action') || f.outerHTML.slice(0, 100))"""
FOCUSED = "() => document.activeElement && document.activeElement.dataset.keyboardTest"


@pytest.mark.parametrize("path", PAGES)
async def test_every_field_is_labelled_and_every_control_reached_by_tab(
    page: Page, accounts: Accounts, path: str
) -> None:
    await log_in(page, accounts.owner)
    answer = await page.goto(path)
    assert answer is not None
    assert answer.status == 200, path
    assert await page.evaluate(UNLABELLED) == [], path
    assert await page.evaluate(WITHOUT_CSRF) == [], path

    controls = await page.evaluate(NUMBER_CONTROLS)
    reached: set[str] = set()
    for _ in range(min(TABS_MAX, 2 * controls + 2)):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused is not None:
            reached.add(focused)
        if len(reached) == controls:
            break
    missed = await page.evaluate(
        """(reached) => [...document.querySelectorAll('[data-keyboard-test]')]
            .filter(e => !reached.includes(e.dataset.keyboardTest))
            .map(e => e.outerHTML.slice(0, 100))""",
        sorted(reached),
    )
    assert missed == [], path
