"""The Anthropic SDK (the Anthropic API, or Claude on Bedrock), behind two functions: the
only package that imports `anthropic`."""

from whisperer.operator.ai.client import Answer, ask, make_client

__all__ = ["Answer", "ask", "make_client"]
