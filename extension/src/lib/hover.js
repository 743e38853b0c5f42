// The hover timing state machine. Pure: the clock and every side effect are
// injected, so tests drive it on a fake clock.
//
//   idle --enter--> waiting --fetch delay--> loading --answer & show delay--> shown
//   shown --leave link and card--> hiding --hide delay--> idle
//   waiting/loading --leave--> idle (nothing sent / request aborted, late answer dropped)
//   any --Escape--> dismissed (until the link is left)
//
// The card holds itself open while the pointer is on it or the keyboard focus
// is in it (two "card sources", like the link's pointer and focus sources).

export const DEFAULT_DELAYS = Object.freeze({ fetch: 150, show: 500, hide: 300 });

/**
 * Clamp user-supplied delays to whole milliseconds in [0, 10000]. A missing,
 * blank or non-numeric delay takes its default (a cleared field is not 0).
 */
export function normalizeDelays(delays) {
  const out = { ...DEFAULT_DELAYS };
  for (const key of Object.keys(DEFAULT_DELAYS)) {
    const raw = delays?.[key];
    const blank = raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "");
    const value = Number(raw);
    if (!blank && Number.isFinite(value)) out[key] = Math.min(10000, Math.max(0, Math.round(value)));
  }
  return out;
}

export const realClock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id),
};

export class HoverMachine {
  /**
   * @param {object} options
   * @param {{setTimeout: Function, clearTimeout: Function}} options.clock
   * @param {{fetch: number, show: number, hide: number}} options.delays
   * @param {object} options.effects  fetch(target, token), abort(target, token),
   *   show(target, data, source), hide(target)
   */
  constructor({ clock = realClock, delays = DEFAULT_DELAYS, effects }) {
    this.clock = clock;
    this.delays = normalizeDelays(delays);
    this.effects = effects;
    this.state = "idle";
    this.target = null;
    this.sources = new Set();
    this.cardSources = new Set();
    this.token = 0;
    this.data = undefined;
    this.showDue = false;
    this.timers = { fetch: null, show: null, hide: null };
  }

  setDelays(delays) {
    this.delays = normalizeDelays(delays);
  }

  /** The pointer rests on, or keyboard focus reaches, `target`. */
  enter(target, source = "pointer") {
    if (target === this.target && this.state !== "idle") {
      this.sources.add(source);
      if (this.state === "hiding") this.#cancelHide();
      return;
    }
    this.#reset();
    this.target = target;
    this.source = source;
    this.sources = new Set([source]);
    this.state = "waiting";
    this.timers.fetch = this.clock.setTimeout(() => this.#startFetch(), this.delays.fetch);
    this.timers.show = this.clock.setTimeout(() => {
      this.timers.show = null;
      this.showDue = true;
      this.#maybeShow();
    }, this.delays.show);
  }

  /** The pointer or focus (`source`) leaves `target`. */
  leave(target, source = "pointer") {
    if (target !== this.target || this.state === "idle") return;
    this.sources.delete(source);
    if (this.sources.size > 0) return;
    if (this.state === "shown") {
      if (this.cardSources.size === 0) this.#startHide();
    } else if (this.state !== "hiding") {
      this.#reset();
    }
  }

  /** The pointer (`source` "pointer") or the keyboard focus ("focus") enters the card. */
  enterCard(source = "pointer") {
    this.cardSources.add(source);
    if (this.state === "hiding") this.#cancelHide();
  }

  leaveCard(source = "pointer") {
    this.cardSources.delete(source);
    if (this.state === "shown" && this.sources.size === 0 && this.cardSources.size === 0) this.#startHide();
  }

  /** Whether the card shows now (or is about to hide). */
  get visible() {
    return this.state === "shown" || this.state === "hiding";
  }

  /** Escape: close now and stay closed until the link is left. Returns whether anything closed. */
  escape() {
    if (this.state === "idle" || this.state === "dismissed") return false;
    const wasVisible = this.state === "shown" || this.state === "hiding";
    this.#clearTimers();
    if (this.state === "loading") this.effects.abort?.(this.target, this.token);
    if (wasVisible) this.effects.hide?.(this.target);
    this.state = "dismissed";
    this.cardSources = new Set();
    this.data = undefined;
    return true;
  }

  /** The worker answered request `token`. Answers for abandoned hovers are dropped (returns false). */
  answer(token, data) {
    if (token !== this.token || this.state !== "loading") return false;
    if (data === null || data === undefined) {
      // Unknown link: no card, and no retry while the pointer stays.
      this.#clearTimers();
      this.state = "dismissed";
      return true;
    }
    this.data = data;
    this.#maybeShow();
    return true;
  }

  /** Forget the current hover at once (page hidden, settings changed). */
  cancel() {
    this.#reset();
  }

  #startFetch() {
    this.timers.fetch = null;
    if (this.state !== "waiting") return;
    this.state = "loading";
    this.token += 1;
    this.effects.fetch(this.target, this.token, this.source);
  }

  #maybeShow() {
    if (this.state !== "loading" || !this.showDue || this.data === undefined) return;
    this.state = "shown";
    this.effects.show(this.target, this.data, this.source);
    if (this.sources.size === 0 && this.cardSources.size === 0) this.#startHide();
  }

  #startHide() {
    this.state = "hiding";
    this.timers.hide = this.clock.setTimeout(() => {
      this.timers.hide = null;
      const target = this.target;
      this.#clearState();
      this.effects.hide?.(target);
    }, this.delays.hide);
  }

  #cancelHide() {
    if (this.timers.hide !== null) this.clock.clearTimeout(this.timers.hide);
    this.timers.hide = null;
    this.state = "shown";
  }

  #clearTimers() {
    for (const key of Object.keys(this.timers)) {
      if (this.timers[key] !== null) this.clock.clearTimeout(this.timers[key]);
      this.timers[key] = null;
    }
  }

  #clearState() {
    this.#clearTimers();
    this.state = "idle";
    this.target = null;
    this.sources = new Set();
    this.cardSources = new Set();
    this.data = undefined;
    this.showDue = false;
  }

  #reset() {
    const { state, target, token } = this;
    this.#clearState();
    if (state === "loading") this.effects.abort?.(target, token);
    if (state === "shown" || state === "hiding") this.effects.hide?.(target);
  }
}
