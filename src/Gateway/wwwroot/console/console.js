// The console's script: live statuses (server-sent events from /console/live), parts of pages
// that refresh themselves, and confirmations before destructive forms. Served from the gateway;
// the pages hold no inline script (Content-Security-Policy: script-src 'self').
(() => {
  'use strict';

  function announce(text) {
    const region = document.getElementById('live-announcer');
    if (region) region.textContent = text;
  }

  // Mirrors ConsoleFormat.Badge: the text always says the status, the colour only helps.
  function badgeClass(status) {
    switch ((status || '').toUpperCase()) {
      case 'COMPLETED': case 'SUCCEEDED': return 'badge ok';
      case 'FAILED': case 'DEAD': case 'GONE': return 'badge bad';
      case 'CANCELLED': case 'CANCELED': case 'DISABLED': case 'SKIPPED': return 'badge off';
      case 'IN_PROGRESS': case 'PENDING': return 'badge busy';
      default: return 'badge wait';
    }
  }

  function setStatus(element, status) {
    if (!element) return;
    element.textContent = status;
    element.className = badgeClass(status);
  }

  // Forms that destroy something ask first.
  document.addEventListener('submit', (event) => {
    const message = event.target.getAttribute('data-confirm');
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Copy buttons next to secrets shown once.
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-copy]');
    if (!button) return;
    const source = document.getElementById(button.getAttribute('data-copy'));
    if (!source || !navigator.clipboard) return;
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy it';
    }
  });

  // Two renders of one region differ by their antiforgery tokens alone when nothing changed.
  function normalized(element) {
    const copy = element.cloneNode(true);
    copy.querySelectorAll('input[name="__RequestVerificationToken"]').forEach((input) => input.removeAttribute('value'));
    return copy.innerHTML;
  }

  // Fetches this page again and swaps in the new version of the element with id `id`, keeping
  // the keyboard focus where it was. Returns false when the page is gone (signed out).
  async function refresh(id) {
    let response;
    try {
      response = await fetch(window.location.href, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'text/html' } });
    } catch {
      return true;
    }
    if (response.redirected && new URL(response.url).pathname === '/console/sign-in') {
      window.location.assign(response.url);
      return false;
    }
    if (!response.ok && response.status !== 404) return true;
    const fresh = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById(id);
    const current = document.getElementById(id);
    if (!fresh || !current || normalized(fresh) === normalized(current)) return true;
    const focused = current.contains(document.activeElement) ? document.activeElement.id : null;
    current.replaceWith(document.adoptNode(fresh));
    if (focused) document.getElementById(focused)?.focus();
    return true;
  }

  // Regions that poll (deliveries, health): every data-refresh milliseconds while the tab is visible.
  document.querySelectorAll('[data-refresh]').forEach((region) => {
    const id = region.id;
    const every = Number(region.getAttribute('data-refresh')) || 3000;
    const tick = async () => {
      const goOn = document.hidden ? true : await refresh(id);
      if (goOn) window.setTimeout(tick, every);
    };
    window.setTimeout(tick, every);
  });

  // Live statuses: the requests list and a request's page listen to /console/live.
  const list = document.querySelector('[data-live="requests"]');
  const request = document.querySelector('[data-live="request"]');
  const state = document.querySelector('[data-live-state]');
  if (!list && !request) return;
  let unseen = 0;
  const source = new EventSource('/console/live');
  const setState = (value, text) => {
    document.body.setAttribute('data-live-connection', value);
    if (state) state.textContent = text;
  };
  setState('connecting', 'Connecting to live updates…');
  source.addEventListener('open', () => setState('connected', 'Live: statuses update as requests finish.'));
  source.addEventListener('error', () => {
    setState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting',
      source.readyState === EventSource.CLOSED ? 'Live updates stopped: reload the page (your session may have ended).' : 'Reconnecting to live updates…');
  });
  source.addEventListener('inference', (message) => {
    const event = JSON.parse(message.data);
    if (list) {
      const row = list.querySelector(`tr[data-request-id="${CSS.escape(event.request_id)}"]`);
      if (row) {
        setStatus(row.querySelector('[data-status]'), event.status);
        const completed = row.querySelector('[data-completed] time');
        if (completed && event.completed_at) {
          completed.dateTime = event.completed_at;
          completed.textContent = event.completed_at.replace('T', ' ').replace(/\.\d+/, '').replace('+00:00', 'Z');
        }
        row.classList.add('changed');
        announce(`Request ${event.request_id} is ${event.status}.`);
      } else {
        unseen += 1;
        const more = document.getElementById('live-more');
        if (more) {
          more.querySelector('[data-live-more-text]').textContent =
            `${unseen} ${unseen === 1 ? 'request' : 'requests'} not on this page ended since it was loaded.`;
          more.hidden = false;
        }
      }
    }
    const current = document.querySelector('[data-live="request"]');
    if (current && current.getAttribute('data-request-id') === event.request_id) {
      setStatus(current.querySelector('[data-status]'), event.status);
      announce(`This request is ${event.status}.`);
      refresh(current.id);
    }
  });
})();
