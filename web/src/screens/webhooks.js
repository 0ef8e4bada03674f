// webhooks.js — notifications to the school's systems (services/notify, docs/notifications.md): the
// webhook subscriptions the caller manages (create — the secret shown once —, enable again after the
// receiver's failures, delete), each one's delivery log with a manual retry, and the live feed
// (GET /notifications/stream, Server-Sent Events with the session cookie) for the events screen.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, useAction, Link, Checkbox } from '../ui.js';
import { fmtDate, fmtNum } from '../format.js';
import { useLoad } from '../hooks.js';
import { WEBHOOK_STATUSES, DELIVERY_STATUSES, NOTIFICATION_TYPES, label } from '../labels.js';

function NewWebhook({ onCreated }) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState([]);
  const [secret, setSecret] = useState(null);
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const w = await api('POST', '/webhooks', { body: { url, description, eventTypes: types } });
      setSecret(w);
      setUrl('');
      setDescription('');
      onCreated(w);
      return w;
    }, 'Подписка создана');
  };
  const toggle = (t, on) => setTypes(on ? [...types, t] : types.filter((x) => x !== t));
  return html`<form class="card form" onSubmit=${create}>
    <h2>Новая подписка</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    ${secret ? html`<div class="notice secret" role="status">
      <p>Секрет подписки — <strong>скопируйте его сейчас</strong>, больше он не показывается: им ваша система проверяет подпись
        <code>webhook-signature</code>.</p>
      <p><code class="secret-value">${secret.secret}</code></p></div>` : null}
    <${Input} label="Адрес получателя (URL)" type="url" value=${url} onInput=${setUrl} required
      hint="https://… вашей системы; адреса частных сетей запрещены" />
    <${Input} label="Описание" value=${description} onInput=${setDescription} hint="например, «Электронный журнал школы»" />
    <fieldset><legend>Какие уведомления (ничего не отмечено — все)</legend>
      ${Object.entries(NOTIFICATION_TYPES).map(([t, text]) => html`<${Checkbox} label=${text} checked=${types.includes(t)}
        onChange=${(on) => toggle(t, on)} />`)}
    </fieldset>
    <button type="submit" disabled=${act.busy}>Подписаться</button>
  </form>`;
}

function WebhookActions({ w, onChanged }) {
  const act = useAction();
  const run = (fn, msg) => act.run(async () => { await fn(); onChanged(msg); });
  return html`<div class="actions">
    ${w.status === 'disabled' ? html`<button type="button" class="secondary" disabled=${act.busy} aria-label=${`Включить подписку ${w.url}`}
      onClick=${() => run(() => api('POST', `/webhooks/${w.id}/enable`, { ifMatch: w.version }), 'Подписка снова включена')}>Включить</button>`
    : html`<button type="button" class="secondary" disabled=${act.busy} aria-label=${`Приостановить подписку ${w.url}`}
      onClick=${() => run(() => api('POST', `/webhooks/${w.id}/disable`, { ifMatch: w.version }), 'Подписка приостановлена')}>Приостановить</button>`}
    <button type="button" class="danger" disabled=${act.busy} aria-label=${`Удалить подписку ${w.url}`}
      onClick=${() => window.confirm(`Удалить подписку на ${w.url}? Недоставленное больше не отправляется.`)
        && run(() => api('DELETE', `/webhooks/${w.id}`, { ifMatch: w.version }), 'Подписка удалена')}>Удалить</button>
    <${ErrorBox} error=${act.error} />
  </div>`;
}

export function Webhooks() {
  const list = useList('/webhooks', {});
  const [done, setDone] = useState('');
  const changed = (msg) => { setDone(msg); list.reload(); };
  return html`<${Page} title="Подписки на уведомления">
    <p class="muted">Вебхуки для информационных систем школы (электронный журнал, сайт): платформа отправляет подписанный
      POST при публикации, изменении, отмене мероприятий и утверждении планов. Как проверять подпись — в документации
      «Уведомления для школьных информационных систем».</p>
    <${ErrorBox} error=${list.error} /><${Notice} text=${done} />
    <${Table} caption="Подписки" empty="Подписок пока нет" rows=${list.items} columns=${[
      { title: 'Адрес', render: (w) => html`<${Link} href=${`/webhooks/${w.id}`}>${w.url}</${Link}>` },
      { title: 'Описание', render: (w) => w.description || '—' },
      { title: 'Уведомления', render: (w) => ((w.eventTypes || []).length ? w.eventTypes.map((t) => label(NOTIFICATION_TYPES, t)).join(', ') : 'все') },
      { title: 'Состояние', render: (w) => html`${label(WEBHOOK_STATUSES, w.status)}${w.disabledReason ? html`<small class="hint">${w.disabledReason}</small>` : null}` },
      { title: 'Создана', render: (w) => fmtDate(w.createdAt) },
      { title: 'Действия', render: (w) => html`<${WebhookActions} w=${w} onChanged=${changed} />` },
    ]} />
    <${Pager} list=${list} />
    <${NewWebhook} onCreated=${() => list.reload()} />
  </${Page}>`;
}

function Retry({ webhookId, d, onDone }) {
  const act = useAction();
  return html`<div><button type="button" class="secondary" disabled=${act.busy} aria-label=${`Повторить доставку ${d.notificationId}`}
    onClick=${() => act.run(async () => { await api('POST', `/webhooks/${webhookId}/deliveries/${d.id}/retry`); onDone(); }, 'Доставка повторяется')}>Повторить</button>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} /></div>`;
}

export function WebhookPage({ params }) {
  const id = params[0];
  const hook = useLoad(() => api('GET', `/webhooks/${id}`), [id]);
  const list = useList(`/webhooks/${id}/deliveries`, {});
  const w = hook.data;
  return html`<${Page} title="Журнал доставок">
    <p><${Link} href="/webhooks">← Все подписки</${Link}></p>
    <${ErrorBox} error=${hook.error || list.error} />
    ${w ? html`<dl class="facts"><dt>Адрес</dt><dd>${w.url}</dd><dt>Состояние</dt><dd>${label(WEBHOOK_STATUSES, w.status)}</dd>
      ${w.disabledReason ? html`<dt>Причина отключения</dt><dd>${w.disabledReason}</dd>` : null}</dl>` : null}
    <div class="actions"><button type="button" class="secondary" onClick=${list.reload}>Обновить журнал</button></div>
    <${Table} caption="Доставки, новые сначала" empty="Доставок пока не было: они появятся с первым подходящим уведомлением" rows=${list.items} columns=${[
      { title: 'Уведомление', render: (d) => html`${label(NOTIFICATION_TYPES, d.type)}<small class="hint">${d.notificationId}</small>` },
      { title: 'Состояние', render: (d) => label(DELIVERY_STATUSES, d.status) },
      { title: 'Попыток', num: true, render: (d) => fmtNum(d.attempts) },
      { title: 'Код ответа', num: true, render: (d) => (d.lastResponseCode ? String(d.lastResponseCode) : '—') },
      { title: 'Длительность, мс', num: true, render: (d) => fmtNum(d.lastDurationMs) },
      { title: 'Ответ или ошибка', render: (d) => d.lastError || d.lastResponseExcerpt || '—' },
      { title: 'Следующая попытка', render: (d) => (d.status === 'pending' ? fmtDate(d.nextAttemptAt, true) : '—') },
      { title: 'Создана', render: (d) => fmtDate(d.createdAt, true) },
      { title: '', render: (d) => (d.status !== 'succeeded' ? html`<${Retry} webhookId=${id} d=${d} onDone=${list.reload} />` : null) },
    ]} />
    <${Pager} list=${list} />
  </${Page}>`;
}

// The live feed: the notifications stream of the caller's territory while the screen is open (the browser's
// EventSource sends the session cookie and resumes with Last-Event-ID by itself).
export function LiveFeed() {
  const [items, setItems] = useState([]);
  const [state, setState] = useState('подключение…');
  useEffect(() => {
    if (typeof EventSource === 'undefined') {
      setState('браузер не поддерживает поток');
      return undefined;
    }
    const es = new EventSource('/api/v1/notifications/stream');
    es.onopen = () => setState('подключено');
    es.onerror = () => setState('переподключение…');
    const on = (e) => {
      let n;
      try {
        n = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      setItems((list) => [n, ...list.filter((x) => x.id !== n.id)].slice(0, 10));
    };
    for (const t of Object.keys(NOTIFICATION_TYPES)) es.addEventListener(t, on);
    es.onmessage = on;
    return () => es.close();
  }, []);
  return html`<section class="card live-feed" aria-labelledby="live-title">
    <h2 id="live-title">Уведомления в реальном времени</h2>
    <p class="muted">Поток: ${state}</p>
    <ul aria-live="polite" class="feed">${items.length ? items.map((n) => {
      const ev = (n.data && (n.data.event || n.data.eventPlan)) || {};
      return html`<li key=${n.id}><span class="muted">${fmtDate(n.occurredAt, true)}</span>${` ${label(NOTIFICATION_TYPES, n.type)}: `}${n.data && n.data.event ? html`<${Link} href=${`/events/${ev.id}`}>${ev.title}</${Link}>` : ev.title || n.id}</li>`;
    }) : html`<li class="muted">Новых уведомлений пока нет</li>`}</ul>
  </section>`;
}

// The notifications of the caller's territory: the live stream on top, the feed of the last 8 days below
// (GET /notifications, pages forward by the feed's cursor).
export function Notifications({ me }) {
  const list = useList('/notifications', {}, { limit: 20 });
  return html`<${Page} title="Уведомления" actions=${me.role !== 'teacher' ? html`<${Link} href="/webhooks" class="button secondary">Подписки (вебхуки)</${Link}>` : null}>
    <${LiveFeed} />
    <${ErrorBox} error=${list.error} />
    <${Table} caption="Лента за 8 суток, с начала" empty="В ленте пока нет уведомлений" rows=${list.items} columns=${[
      { title: 'Когда', render: (n) => fmtDate(n.occurredAt, true) },
      { title: 'Что', render: (n) => label(NOTIFICATION_TYPES, n.type) },
      { title: 'Мероприятие или план', render: (n) => {
        const ev = (n.data && (n.data.event || n.data.eventPlan)) || {};
        return n.data && n.data.event ? html`<${Link} href=${`/events/${ev.id}`}>${ev.title}</${Link}>` : ev.title || '—';
      } },
      { title: 'Уровень', render: (n) => (n.scope && n.scope.region ? 'региональное' : 'муниципальное') },
    ]} />
    <${Pager} list=${list} />
  </${Page}>`;
}
