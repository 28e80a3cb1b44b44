// The agents' working view, on top of pages that work without it: keyboard shortcuts, a
// canned response filling the message, first-answer countdowns that keep counting, and the
// live feed (server-sent events) that refreshes the queue when cases arrive or change.
// A few dozen lines of plain DOM code: a library would be larger than what it replaces.
'use strict';

(() => {
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));

  // Keyboard: n next, r reply, i note, e resolve, / search; Ctrl+Enter sends; Esc leaves a field.
  document.addEventListener('keydown', (event) => {
    const target = event.target;
    if ((event.ctrlKey || event.metaKey) && event.key === 'Enter' && target.form) {
      event.preventDefault();
      const next = target.form.querySelector('button[name="next"]');
      target.form.requestSubmit(next || undefined);
      return;
    }
    if (event.key === 'Escape' && typing(target)) {
      target.blur();
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const focus = (id) => {
      const el = document.getElementById(id);
      if (!el) return false;
      event.preventDefault();
      el.focus();
      return true;
    };
    const submit = (id) => {
      const form = document.getElementById(id);
      if (!form) return;
      event.preventDefault();
      form.requestSubmit();
    };
    switch (event.key) {
      case 'n': submit('take-next'); break;
      case 'r': focus('body'); break;
      case 'i': focus('note'); break;
      case 'e': submit('resolve-form'); break;
      case '/': focus('search'); break;
      default:
    }
  });

  // A canned response fills the message, where the agent can still change it.
  const canned = document.getElementById('canned');
  const body = document.getElementById('body');
  if (canned && body) {
    canned.addEventListener('change', () => {
      const chosen = canned.selectedOptions[0];
      const text = chosen && chosen.dataset.text;
      if (text && (!body.value.trim() || confirm('Replace the message you typed with this canned response?'))) {
        body.value = text;
        body.focus();
      }
    });
  }

  // First-answer countdowns, counted on this screen's clock.
  const span = (ms) => {
    const minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 1) return '<1 min';
    if (minutes < 60) return `${minutes} min`;
    if (minutes < 1440) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
    return `${Math.floor(minutes / 1440)} d ${Math.floor((minutes % 1440) / 60)} h`;
  };
  const tick = () => {
    for (const el of document.querySelectorAll('time[data-due]')) {
      const left = Date.parse(el.dataset.due) - Date.now();
      if (Number.isNaN(left)) continue;
      const overdue = left < 0 || el.classList.contains('overdue');
      el.classList.toggle('overdue', overdue);
      el.textContent = overdue ? `${span(left)} overdue` : `in ${span(left)}`;
    }
  };
  setInterval(tick, 30000);

  // The live feed: one connection per page; a change of this incident refreshes the list
  // once (changes arriving together are fetched together).
  const queue = document.getElementById('queue');
  if (!queue || !window.EventSource) return;
  const list = document.getElementById('queue-live');
  const status = document.getElementById('live-status');
  const open = document.querySelector('[data-case]');
  let source = queue.dataset.live;
  if (open) source += `&case=${encodeURIComponent(open.dataset.case)}`;
  let pending = null;
  let arrived = 0;
  const refresh = async () => {
    pending = null;
    const response = await fetch(queue.dataset.refresh, { credentials: 'same-origin' });
    if (!response.ok) return;
    list.innerHTML = await response.text();
    tick();
    if (arrived > 0) {
      status.textContent = arrived === 1 ? '1 new case or message.' : `${arrived} new cases or messages.`;
      arrived = 0;
    }
  };
  const events = new EventSource(source);
  const changed = (event) => {
    try {
      if (JSON.parse(event.data).change === 'arrived') arrived += 1;
    } catch (_) { /* a resync carries no case */ }
    if (!pending) pending = setTimeout(refresh, 500);
  };
  events.addEventListener('case', changed);
  events.addEventListener('resync', changed);
})();
