// What the card says (a pure model from a server answer) and how it is built
// (DOM nodes from `textContent` only, given any `document`). No chrome.*.

export const SECTIONS = ["recap", "neutral", "example", "optimistic", "pessimistic"];

export const STRINGS = {
  fr: {
    recap: "Récapitulatif factuel",
    neutral: "Point de vue neutre",
    example: "Exemple",
    optimistic: "Point de vue optimiste",
    pessimistic: "Point de vue pessimiste",
    source_url: "Article en référence",
    preview: "Aperçu Balise",
    sectionsLabel: "Résumé par sections",
    dialogLabel: "Aperçu Balise : $1",
    pageMark: "Description de la page",
  },
  en: {
    recap: "Factual recap",
    neutral: "Neutral view",
    example: "Example",
    optimistic: "Optimistic view",
    pessimistic: "Pessimistic view",
    source_url: "Source article",
    preview: "Balise preview",
    sectionsLabel: "Summary by section",
    dialogLabel: "Balise preview: $1",
    pageMark: "The page's own description",
  },
};

/** Heading strings for a summary language; unknown languages fall back to English. */
export function strings(lang) {
  const base = typeof lang === "string" ? lang.toLowerCase().split(/[-_]/)[0] : "";
  return Object.hasOwn(STRINGS, base) ? STRINGS[base] : STRINGS.en;
}

const LIMITS = { title: 300, teaser: 600, section: 6000 };

function text(value, limit) {
  if (typeof value !== "string") return "";
  // Control characters other than tab/newline have no business in a card.
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trim();
  return clean.length > limit ? `${clean.slice(0, limit - 1).trimEnd()}…` : clean;
}

/** Plain text to paragraphs: blank lines separate them, single newlines stay inside. */
export function paragraphs(value, limit = LIMITS.section) {
  return text(value, limit)
    .split(/\n[ \t]*\n+/)
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The value if it is an absolute http(s) URL, else null (no javascript:, data:, ...). */
export function safeHttpUrl(value) {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** "www.example.org" -> "example.org"; null for anything not http(s). */
export function domainOf(value) {
  const url = safeHttpUrl(value);
  if (!url) return null;
  return new URL(url).hostname.replace(/^www\./, "");
}

/** A usable summary has a title or a teaser; anything else is treated as unknown. */
export function isSummary(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    (typeof value.title === "string" || typeof value.teaser === "string")
  );
}

/**
 * Everything the card shows, as plain strings, from one summary object. A link without
 * a summary may be answered with its page's own card (`origin: "page"`): title and
 * teaser only, never sections, marked as the page's own description.
 */
export function cardModel(summary) {
  if (!isSummary(summary)) return null;
  const lang = summary.lang === "fr" ? "fr" : summary.lang === "en" ? "en" : "en";
  const s = strings(lang);
  const page = summary.origin === "page";
  const sourceUrl = (!page && safeHttpUrl(summary.source_url)) || safeHttpUrl(summary.target_url);
  const shortUrl = safeHttpUrl(summary.short_url);
  const sections = [];
  for (const key of page ? [] : SECTIONS) {
    const paras = paragraphs(summary[key]);
    if (paras.length) sections.push({ key, heading: s[key], paragraphs: paras });
  }
  const title = text(summary.title, LIMITS.title);
  const teaser = text(summary.teaser, LIMITS.teaser);
  return {
    lang,
    // The card's accessible name (it is a non-modal dialog): what it is about.
    label: s.dialogLabel.replace("$1", () => title || teaser),
    title,
    teaser,
    mark: page ? s.pageMark : null,
    domain: domainOf(sourceUrl),
    sections,
    source: sourceUrl ? { heading: s.source_url, url: sourceUrl, label: domainOf(sourceUrl) } : null,
    preview: shortUrl ? { label: s.preview, url: `${shortUrl.replace(/\+$/, "")}+` } : null,
    sectionsLabel: s.sectionsLabel,
  };
}

function el(doc, tag, className, content) {
  const node = doc.createElement(tag);
  if (className) node.setAttribute("class", className);
  if (content !== undefined) node.textContent = content;
  return node;
}

/**
 * Build the card's nodes for `model` with `doc`. Text only ever goes through
 * `textContent` and URLs through `href` after `safeHttpUrl`. `onToggle` is
 * called after a section opens or closes (the card's size changed). The
 * controls, in focus order, are the section toggles then the footer links.
 */
export function buildCard(doc, model, { idPrefix = "balise", onToggle = () => {} } = {}) {
  const card = el(doc, "div", "card");
  card.setAttribute("lang", model.lang);
  if (model.domain) card.appendChild(el(doc, "div", "domain", model.domain));
  if (model.title) card.appendChild(el(doc, "div", "title", model.title));
  if (model.mark) card.appendChild(el(doc, "p", "mark", model.mark));
  if (model.teaser) card.appendChild(el(doc, "p", "teaser", model.teaser));

  if (model.sections.length) {
    const list = el(doc, "div", "sections");
    list.setAttribute("role", "group");
    list.setAttribute("aria-label", model.sectionsLabel);
    for (const section of model.sections) {
      const wrap = el(doc, "div", "section");
      const button = el(doc, "button", "toggle");
      button.setAttribute("type", "button");
      button.setAttribute("aria-expanded", "false");
      const bodyId = `${idPrefix}-${section.key}`;
      button.setAttribute("aria-controls", bodyId);
      const chevron = el(doc, "span", "chevron", "›");
      chevron.setAttribute("aria-hidden", "true");
      button.appendChild(chevron);
      button.appendChild(el(doc, "span", "heading", section.heading));
      const body = el(doc, "div", "body");
      body.setAttribute("id", bodyId);
      body.hidden = true;
      for (const para of section.paragraphs) body.appendChild(el(doc, "p", "para", para));
      button.addEventListener("click", () => {
        const open = button.getAttribute("aria-expanded") !== "true";
        button.setAttribute("aria-expanded", String(open));
        body.hidden = !open;
        onToggle(section.key, open);
      });
      wrap.appendChild(button);
      wrap.appendChild(body);
      list.appendChild(wrap);
    }
    card.appendChild(list);
  }

  if (model.source || model.preview) {
    const footer = el(doc, "div", "footer");
    if (model.source) {
      const source = el(doc, "a", "source");
      source.setAttribute("href", model.source.url);
      source.setAttribute("rel", "noopener noreferrer");
      source.appendChild(el(doc, "span", "label", model.source.heading));
      source.appendChild(el(doc, "span", "host", model.source.label));
      footer.appendChild(source);
    }
    if (model.preview) {
      const preview = el(doc, "a", "preview", model.preview.label);
      preview.setAttribute("href", model.preview.url);
      preview.setAttribute("rel", "noopener noreferrer");
      footer.appendChild(preview);
    }
    card.appendChild(footer);
  }
  return card;
}

/** The card's own style sheet: everything reset inside the shadow root, light and dark. */
export const CARD_CSS = `
:host { all: initial; }
.card {
  all: initial;
  display: block;
  box-sizing: border-box;
  width: 100%;
  max-height: inherit;
  overflow: auto;
  overscroll-behavior: contain;
  padding: 14px 14px 12px;
  border-radius: 10px;
  border: 1px solid rgba(15, 23, 42, 0.10);
  background: #ffffff;
  color: #1f2937;
  box-shadow: 0 10px 30px rgba(15, 23, 42, 0.16), 0 2px 6px rgba(15, 23, 42, 0.08);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
  text-align: start;
  overflow-wrap: anywhere;
  animation: balise-in 120ms ease-out;
}
.card * { box-sizing: border-box; font: inherit; color: inherit; margin: 0; padding: 0; }
.domain {
  display: block;
  font-size: 12px;
  letter-spacing: 0.02em;
  color: #64748b;
  margin-bottom: 4px;
}
.title { display: block; font-size: 16px; font-weight: 650; line-height: 1.3; color: #0f172a; }
.teaser { display: block; margin-top: 6px; color: #334155; }
.mark {
  display: inline-block;
  margin-top: 6px;
  padding: 1px 6px;
  border-radius: 4px;
  background: #f1f5f9;
  color: #475569;
  font-size: 11px;
  font-weight: 600;
  letter-spacing: 0.02em;
}
.mark + .teaser { margin-top: 4px; }
.sections { display: block; margin-top: 10px; border-top: 1px solid #e5e7eb; }
.section { display: block; border-bottom: 1px solid #f1f5f9; }
.toggle {
  all: unset;
  display: flex;
  align-items: center;
  gap: 6px;
  width: 100%;
  padding: 6px 2px;
  cursor: pointer;
  font-size: 13px;
  font-weight: 600;
  color: #1e3a8a;
}
.toggle:hover .heading { text-decoration: underline; }
.toggle:focus-visible { outline: 2px solid #2563eb; outline-offset: 1px; border-radius: 4px; }
.chevron { display: inline-block; width: 10px; transition: transform 120ms ease-out; color: #64748b; }
.toggle[aria-expanded="true"] .chevron { transform: rotate(90deg); }
.body { display: block; padding: 0 2px 8px 18px; font-size: 13px; color: #334155; }
.body[hidden] { display: none; }
.para { display: block; white-space: pre-line; }
.para + .para { margin-top: 6px; }
.footer {
  display: flex;
  flex-wrap: wrap;
  justify-content: space-between;
  align-items: baseline;
  gap: 4px 10px;
  margin-top: 10px;
  font-size: 12px;
}
.footer a { color: #2563eb; text-decoration: none; cursor: pointer; }
.footer a:hover { text-decoration: underline; }
.footer a:focus-visible { outline: 2px solid #2563eb; outline-offset: 1px; border-radius: 3px; }
.source { min-width: 0; max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.preview { flex: none; margin-left: auto; }
.source .label { color: #64748b; }
.source .label::after { content: " · "; }
@keyframes balise-in { from { opacity: 0; transform: translateY(2px); } to { opacity: 1; transform: none; } }
@media (prefers-color-scheme: dark) {
  .card { background: #1e2330; color: #e5e7eb; border-color: rgba(255, 255, 255, 0.12);
    box-shadow: 0 10px 30px rgba(0, 0, 0, 0.5), 0 2px 6px rgba(0, 0, 0, 0.35); }
  .domain, .source .label, .chevron { color: #94a3b8; }
  .title { color: #f8fafc; }
  .teaser, .body { color: #cbd5e1; }
  .mark { background: #2a3242; color: #cbd5e1; }
  .sections { border-top-color: #334155; }
  .section { border-bottom-color: #2a3242; }
  .toggle { color: #93c5fd; }
  .footer a { color: #93c5fd; }
}
@media (prefers-reduced-motion: reduce) {
  .card, .chevron { animation: none; transition: none; }
}
`;
