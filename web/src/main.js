// main.js — the console's shell: who is logged in (GET /me with the session cookie), the login form,
// the menu of the role's screens, and the router (History API; the gateway answers index.html for
// every screen's path).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setUnauthorizedHandler } from './api.js';
import { html, ErrorBox, Input, Link, navigate, useAction } from './ui.js';
import { ROLES } from './labels.js';
import { menuFor, resolve } from './nav.js';
import { forget } from './lookups.js';

// The session cookie is HttpOnly: the page only remembers that it has logged in, so a first visit shows the
// login form without asking the API (and without a 401 in the browser's console).
const SESSION_MARK = 'metodnet.session';

function Login({ onLogin }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const act = useAction();
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const r = await api('POST', '/auth/login', { body: { login, password }, quiet401: true });
      localStorage.setItem(SESSION_MARK, '1');
      onLogin(r.user);
    });
  };
  return html`<main class="login" id="main" tabindex="-1">
    <form class="card" onSubmit=${submit} aria-labelledby="login-title">
      <h1 id="login-title">metodnet</h1>
      <p class="muted">Методическая служба: реестр, диагностика, маршруты</p>
      <${ErrorBox} error=${act.error} />
      <${Input} label="Логин" value=${login} onInput=${setLogin} required autocomplete="username" name="login" />
      <${Input} label="Пароль" type="password" value=${password} onInput=${setPassword} required
        autocomplete="current-password" name="password" />
      <button type="submit" disabled=${act.busy}>${act.busy ? 'Вход…' : 'Войти'}</button>
    </form>
  </main>`;
}

function Shell({ me, onLogout }) {
  const [path, setPath] = useState(location.pathname);
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => {
    const on = () => {
      setPath(location.pathname);
      setMenuOpen(false);
      window.scrollTo(0, 0);
    };
    window.addEventListener('popstate', on);
    window.addEventListener('metodnet:navigate', on);
    return () => {
      window.removeEventListener('popstate', on);
      window.removeEventListener('metodnet:navigate', on);
    };
  }, []);
  const menu = menuFor(me);
  const found = resolve(me, path);
  const Screen = found && found.screen;
  const logout = async () => {
    try {
      await api('POST', '/auth/logout', { quiet401: true });
    } catch (e) {
      /* the session may have ended already */
    }
    onLogout();
  };
  return html`<div class="shell">
    <a class="skip" href="#main">К содержимому</a>
    <header class="top">
      <button type="button" class="menu-toggle" aria-expanded=${menuOpen} aria-controls="nav"
        onClick=${() => setMenuOpen(!menuOpen)}>Меню</button>
      <${Link} href="/" class="brand">metodnet</${Link}>
      <div class="who"><span class="who-name">${me.fullName}</span>
        <span class="muted">${ROLES[me.role] || me.role}</span></div>
      <button type="button" class="secondary" onClick=${logout}>Выйти</button>
    </header>
    <nav id="nav" class=${menuOpen ? 'open' : ''} aria-label="Разделы">
      ${menu.map((s) => html`<div class="nav-section"><h2>${s.title}</h2><ul>
        ${s.items.map((i) => html`<li><${Link} href=${i.path}
          aria-current=${i.path === path || (i.path !== '/' && path.startsWith(`${i.path}/`)) ? 'page' : undefined}>${i.label}</${Link}></li>`)}
      </ul></div>`)}
    </nav>
    <main id="main" tabindex="-1">
      ${Screen ? html`<${Screen} me=${me} params=${found.params} kind=${found.item.kind} key=${path} />`
        : html`<section class="page"><h1>Страница не найдена</h1>
          <p>Такой страницы нет или она недоступна вашей роли. <${Link} href="/">На главную</${Link}></p></section>`}
    </main>
  </div>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  useEffect(() => {
    const ended = () => {
      localStorage.removeItem(SESSION_MARK);
      forget();
      setMe(null);
    };
    setUnauthorizedHandler(ended);
    if (!localStorage.getItem(SESSION_MARK)) setMe(null);
    else api('GET', '/me', { quiet401: true }).then(setMe, ended);
  }, []);
  if (me === undefined) return html`<p class="boot">Загрузка консоли…</p>`;
  if (me === null) return html`<${Login} onLogin=${(u) => { setMe(u); navigate(location.pathname); }} />`;
  return html`<${Shell} me=${me} onLogout=${() => {
    localStorage.removeItem(SESSION_MARK);
    forget();
    setMe(null);
    history.replaceState(null, '', '/');
  }} />`;
}

render(html`<${App} />`, document.getElementById('app'));
