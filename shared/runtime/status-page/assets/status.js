// The status page's only script. Everything works without it (the filters are a GET form, "Sync now" a POST form);
// with it, filters apply on change, "Sync now" stays on the page, and while `gitops dev` runs the rows, counts and
// event feed update in place from /events. All markup it inserts was rendered and escaped by the server.

(() => {
  const filters = document.querySelector('form.filters');
  if (filters) {
    for (const select of filters.querySelectorAll('select')) {
      select.addEventListener('change', () => filters.requestSubmit());
    }
  }

  const syncForm = document.getElementById('sync-form');
  const syncStatus = document.getElementById('sync-status');
  if (syncForm && syncStatus) {
    syncForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const token = syncForm.querySelector('input[name="token"]').value;
      const button = syncForm.querySelector('button');
      button.disabled = true;
      syncStatus.textContent = 'Starting sync…';
      try {
        const res = await fetch('/sync', {
          method: 'POST',
          headers: { 'x-gitops-token': token, accept: 'application/json' },
          credentials: 'same-origin',
        });
        syncStatus.textContent = res.ok ? 'Sync started' : `Sync refused (${res.status})`;
      } catch {
        syncStatus.textContent = 'Sync could not be started: is gitops dev still running?';
      } finally {
        button.disabled = false;
      }
    });
  }

  if (document.body.dataset.mode !== 'dev' || !('EventSource' in window)) return;

  const feed = document.getElementById('feed');
  const rows = document.getElementById('rows');
  const stack = document.getElementById('stack');
  const fragment = (html) => {
    const template = document.createElement('template');
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  };

  const source = new EventSource(`/events${location.search}`);
  const live = document.getElementById('live');
  if (live) live.textContent = 'Connecting…';
  source.addEventListener('open', () => {
    if (live) live.textContent = '● Live';
  });
  source.addEventListener('error', () => {
    if (live) live.textContent = 'Reconnecting…';
  });

  source.addEventListener('feed', (message) => {
    const data = JSON.parse(message.data);
    if (!feed || (stack && data.key !== stack.dataset.key)) return;
    feed.prepend(fragment(data.html));
    while (feed.children.length > 50) feed.lastElementChild.remove();
    document.getElementById('feed-empty')?.remove();
  });

  source.addEventListener('rows', (message) => {
    const data = JSON.parse(message.data);
    if (stack) {
      if (data.rows.some((r) => r.key === stack.dataset.key)) showReloadHint();
      return;
    }
    if (!rows) return;
    for (const update of data.rows) replaceRow(update.key, update.html);
    const counts = document.getElementById('counts');
    if (counts) counts.innerHTML = data.counts;
    const shown = document.getElementById('shown');
    if (shown) shown.textContent = data.shown;
  });

  function replaceRow(key, html) {
    const old = document.getElementById(`row-${key}`);
    if (!html) {
      old?.remove();
      return;
    }
    const row = fragment(html);
    const focused = old?.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
    if (old) old.replaceWith(row);
    else {
      const after = [...rows.children].find((r) => (r.dataset.key ?? '') > key);
      rows.insertBefore(row, after ?? null);
    }
    row.classList.add('updated');
    setTimeout(() => row.classList.remove('updated'), 2000);
    if (focused) row.querySelector(`a[href="${CSS.escape(focused)}"]`)?.focus();
  }

  function showReloadHint() {
    if (document.getElementById('reload-hint')) return;
    const hint = document.createElement('p');
    hint.id = 'reload-hint';
    hint.className = 'notice';
    hint.setAttribute('role', 'status');
    const link = document.createElement('a');
    link.href = location.pathname;
    link.textContent = 'Reload';
    hint.append('This stack changed. ', link, ' to see its new state and history.');
    stack.prepend(hint);
  }
})();
