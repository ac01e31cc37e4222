// The example's browser client. The refresh token lives in an HttpOnly
// cookie that this script cannot read; the access token lives only in
// this closure, never in storage. Tabs share one session: refreshes are
// serialized across tabs with a Web Lock, so two tabs never present the
// same refresh cookie (the server would end the session as reuse), and
// logins and logouts are announced on a BroadcastChannel.
'use strict';
(() => {
  const session = { access: null, csrf: null, timer: 0, refreshes: 0 };
  const channel = 'BroadcastChannel' in self ? new BroadcastChannel('jwtkit-session') : null;
  const $ = (id) => document.getElementById(id);

  function setView(state, message) {
    document.body.dataset.state = state;
    $('login').hidden = state !== 'signed-out';
    $('profile').hidden = state !== 'signed-in';
    $('status').textContent = message || '';
  }

  function post(path, body) {
    const headers = {};
    if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
    if (session.access && path === '/session/logout') headers.Authorization = 'Bearer ' + session.access;
    return fetch(path, { method: 'POST', headers, body, credentials: 'same-origin', cache: 'no-store' });
  }

  // Only one tab at a time rotates the refresh cookie.
  function exclusively(fn) {
    return navigator.locks ? navigator.locks.request('jwtkit-refresh', fn) : fn();
  }

  function forget(message) {
    clearTimeout(session.timer);
    session.access = null;
    session.csrf = null;
    $('username').textContent = '';
    setView('signed-out', message);
  }

  async function accept(resp) {
    const body = await resp.json();
    session.access = body.access_token;
    session.csrf = body.csrf_token;
    clearTimeout(session.timer);
    // Refresh silently at three quarters of the access token's lifetime.
    session.timer = setTimeout(refresh, Math.max(1, body.expires_in * 0.75) * 1000);
    await showProfile();
  }

  async function refresh() {
    return exclusively(async () => {
      let resp;
      try {
        resp = await post('/session/refresh');
      } catch (e) {
        setView(document.body.dataset.state, 'Network error; retrying');
        session.timer = setTimeout(refresh, 5000);
        return;
      }
      if (!resp.ok) {
        forget(document.body.dataset.state === 'signed-in' ? 'Your session has ended.' : '');
        return;
      }
      session.refreshes++;
      document.body.dataset.refreshes = String(session.refreshes);
      await accept(resp);
    });
  }

  async function showProfile() {
    const resp = await fetch('/users/me', { headers: { Authorization: 'Bearer ' + session.access }, cache: 'no-store' });
    if (!resp.ok) {
      forget('Your session has ended.');
      return;
    }
    const me = await resp.json();
    $('username').textContent = me.username;
    $('full-name').textContent = me.full_name || '';
    $('email').textContent = me.email || '';
    setView('signed-in');
  }

  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = new URLSearchParams(new FormData(ev.target));
    ev.target.reset();
    const resp = await exclusively(() => post('/session/login', form));
    if (!resp.ok) {
      setView('signed-out', resp.status === 401 ? 'Incorrect username or password.' : 'Login failed (' + resp.status + ').');
      return;
    }
    await accept(resp);
    if (channel) channel.postMessage('login');
  });

  $('logout').addEventListener('click', async () => {
    await exclusively(() => post('/session/logout')).catch(() => {});
    forget('Signed out.');
    if (channel) channel.postMessage('logout');
  });

  if (channel) {
    channel.onmessage = (ev) => {
      if (ev.data === 'logout') forget('Signed out in another tab.');
      if (ev.data === 'login' && !session.access) refresh();
    };
  }

  // After a reload the access token is gone: the refresh cookie, if any,
  // brings the session back.
  refresh();
})();
