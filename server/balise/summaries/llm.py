"""Generated drafts: ask an OpenAI-compatible chat completions endpoint (llama.cpp, Ollama,
vLLM...) for every section in the link's language, as JSON, and validate the answer.

A malformed answer or a timeout is a 502 problem; nothing is ever half-saved.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from balise.errors import BadGateway, Problem, ValidationFailed
from balise.summaries import store as summaries
from balise.summaries.article import Article

ASKED = ("title", "teaser", *summaries.SECTIONS)
ARTICLE_CHARS = 12_000
MAX_ANSWER_BYTES = 1024 * 1024
LANGUAGE_NAMES = {"fr": "French", "en": "English"}

SYSTEM_PROMPT = """You write summaries of news articles for readers of a link-sharing service.
Answer with one JSON object and nothing else. Its keys, all strings, all required:
- "title": the article's title.
- "teaser": one or two sentences, like a social media post (at most 280 characters).
- "recap": a factual recap: what happened, facts only.
- "neutral": a neutral view: context, no judgement.
- "example": an everyday example, an analogy that makes the subject concrete.
- "optimistic": the optimistic view: the hopeful reading.
- "pessimistic": the pessimistic view: the worried reading.
Write every value in {language}. Plain text only: no Markdown, no HTML. Separate paragraphs
with a blank line. Keep each section under 1200 characters. Use only what the article says."""


class GenerationUnavailable(Problem):
    status, type, title = 501, "generation-not-configured", "Generated drafts are not set up"


class GenerationFailed(BadGateway):
    type, title = "generation-failed", "The language model gave no usable draft"


@dataclass(frozen=True)
class LLMOptions:
    url: str
    model: str
    api_key: str = ""
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> LLMOptions | None:
        if not settings.get("LLM_URL"):
            return None
        return cls(
            url=endpoint(str(settings["LLM_URL"])),
            model=str(settings.get("LLM_MODEL") or ""),
            api_key=str(settings.get("LLM_API_KEY") or ""),
            timeout=float(settings.get("LLM_TIMEOUT") or 60.0),
        )


def endpoint(url: str) -> str:
    """Accept the server root, its /v1, or the full /v1/chat/completions URL."""
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return url + "/chat/completions"
    return url + "/v1/chat/completions"


def require(options: LLMOptions | None) -> LLMOptions:
    if options is None:
        raise GenerationUnavailable(
            "Set BALISE_LLM_URL (and BALISE_LLM_MODEL) to an OpenAI-compatible endpoint to "
            "generate drafts."
        )
    return options


def messages(article: Article, lang: str) -> list[dict[str, str]]:
    lines = [f"Article URL: {article.url}"]
    if article.title:
        lines.append(f"Title: {article.title}")
    if article.description:
        lines.append(f"Description: {article.description}")
    lines += ["", "Article text:", article.text[:ARTICLE_CHARS] or "(no readable text)"]
    user = "\n".join(lines)
    language = LANGUAGE_NAMES.get(lang, "English")
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(language=language)},
        {"role": "user", "content": user},
    ]


def _post(options: LLMOptions, payload: dict[str, Any]) -> bytes:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if options.api_key:
        headers["Authorization"] = f"Bearer {options.api_key}"
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
        options.url, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=options.timeout) as response:  # noqa: S310
            return bytes(response.read(MAX_ANSWER_BYTES))
    except urllib.error.HTTPError as exc:
        exc.close()
        raise GenerationFailed(f"The model endpoint answered HTTP {exc.code}.") from None
    except TimeoutError:
        raise GenerationFailed(
            f"The model did not answer within {options.timeout:g} seconds."
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise GenerationFailed(
                f"The model did not answer within {options.timeout:g} seconds."
            ) from None
        raise GenerationFailed(f"The model endpoint could not be reached ({reason}).") from None


def generate(article: Article, lang: str, options: LLMOptions) -> dict[str, Any]:
    """Every section, validated; GenerationFailed when the answer is not a usable summary."""
    payload = {
        "model": options.model,
        "messages": messages(article, lang),
        "temperature": 0.2,
        "response_format": {"type": "json_object"},
    }
    answer = parse_answer(_post(options, payload))
    values: dict[str, Any] = {name: answer.get(name) for name in ASKED}
    missing = [n for n in ASKED if not (isinstance(values[n], str) and values[n].strip())]
    values["lang"] = lang
    if missing:
        raise GenerationFailed("The model's answer lacks: " + ", ".join(missing) + ".")
    try:
        return summaries.clean(values, default_lang=lang)
    except ValidationFailed as exc:
        raise GenerationFailed(
            f"The model's answer is not a valid summary: {exc.detail}."
        ) from None


def parse_answer(raw: bytes) -> dict[str, Any]:
    """The JSON object inside the first choice's message (code fences tolerated)."""
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise GenerationFailed("The model endpoint's answer is not a chat completion.") from None
    if not isinstance(content, str):
        raise GenerationFailed("The model's message has no text content.")
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError:
        raise GenerationFailed("The model's answer is not JSON.") from None
    if not isinstance(data, dict):
        raise GenerationFailed("The model's answer is not a JSON object.")
    return data
