"""Office chat tools: 企业微信, 钉钉 and 飞书 bots, each one small module and one router.

Every bot verifies its vendor's signature (and decrypts where the vendor encrypts) before it
reads a message, answers through the same ``Engine.ask`` as the chat page, and trims long
answers to the tool's limit with a link back to the chat page. Setup: docs/integrations.md.
"""

from rag.integrations import dingtalk, feishu, wecom

routers = [wecom.router, dingtalk.router, feishu.router]
