"""What every `loyalty-admin` command's help ends with: how to call it."""


def example(*invocations: str) -> str:
    """An epilog of example invocations, one paragraph each (typer's help joins single line
    breaks). Square brackets would be read as rich markup: examples do without them."""
    return "\n\n".join(f"Example: {invocation}" for invocation in invocations)
