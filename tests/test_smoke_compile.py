from newsletter.campaigns import load_issue
from newsletter.providers.mailchimp.tags import MAILCHIMP_TAGS
from newsletter.render.compile import compile_issue


def test_example_compiles_with_each_providers_tags(settings, example_file):
    issue = load_issue(example_file, settings)
    local = compile_issue(issue, settings)
    mailchimp = compile_issue(issue, settings, MAILCHIMP_TAGS)
    assert "[[nl:unsubscribe_url]]" in local.html
    assert 'href="*|UNSUB|*"' in mailchimp.html
    assert "*|" not in local.html
