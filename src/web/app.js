// The dashboard shell: token prompt, navigation (hash routes), one view at a time.
import { takeTokenFromHash, token, onUnauthorized, api } from './api.js';
import * as views from './views.js';
import { alerts } from './alerts-view.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let cleanup = () => {};

function showLogin(message) {
  cleanup();
  cleanup = () => {};
  const dlg = document.getElementById('login');
  document.getElementById('login-message').textContent = message ?? '';
  dlg.hidden = false;
  main.hidden = true;
  document.getElementById('token-input').focus();
}

document.getElementById('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const t = document.getElementById('token-input').value.trim();
  if (!t) return;
  token.set(t);
  try {
    await api('/v1/status');
    document.getElementById('login').hidden = true;
    main.hidden = false;
    route();
  } catch (err) {
    showLogin(err.status === 401 ? 'That token was not accepted.' : String(err.message));
  }
});
document.getElementById('logout').addEventListener('click', () => {
  token.clear();
  showLogin('Signed out.');
});
onUnauthorized.handler = () => showLogin('The server did not accept the stored token; paste a new one.');

function route() {
  cleanup();
  main.replaceChildren();
  const [path, query] = (location.hash.replace(/^#/, '') || '/').split('?');
  const params = new URLSearchParams(query ?? '');
  const parts = path.split('/').filter(Boolean);
  const name = parts[0] ?? 'overview';
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.view === (name === 'sensor' ? 'sensors' : name));
  document.title = `Sensorpipe · ${name}`;
  if (name === 'sensor' && parts[1]) cleanup = views.sensor(main, decodeURIComponent(parts[1]));
  else if (name === 'sensors') cleanup = views.sensors(main);
  else if (name === 'quarantine') cleanup = views.quarantine(main, params);
  else if (name === 'quality') cleanup = views.quality(main);
  else if (name === 'jobs') cleanup = views.jobs(main);
  else if (name === 'alerts') cleanup = alerts(main);
  else cleanup = views.overview(main);
}

takeTokenFromHash();
window.addEventListener('hashchange', () => {
  if (/[#&]token=/.test(location.hash)) {
    takeTokenFromHash();
    document.getElementById('login').hidden = true;
    main.hidden = false;
  }
  if (token.get()) route();
});
if (!token.get()) showLogin();
else route();
