// admin.js — users (create with a role below one's own, disable/enable), API keys of school systems
// (created with the secret shown once, revoked), and the region administrator's audit log.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html, Page, Table, Pager, useList, ErrorBox, Notice, Input, Select, useAction } from '../ui.js';
import { fmtDate } from '../format.js';
import { useLookup } from '../hooks.js';
import { organizations, municipalities } from '../lookups.js';
import { ROLES, SCOPE_KINDS, label } from '../labels.js';
import { lowerRoles } from '../roles.js';

const SCOPE_OF_ROLE = { municipal_methodologist: 'municipality', school_admin: 'organization', teacher: 'self', region_admin: 'region' };

function scopeOptions(kind, me, orgs, muns) {
  if (kind === 'region') return [[me.regionId, `регион ${me.regionId}`]];
  if (kind === 'municipality') return muns ? [...muns.values()].map((m) => [m.id, m.name]) : [];
  if (kind === 'organization') return orgs ? [...orgs.values()].map((o) => [o.id, o.shortName || o.name]) : [];
  return [];
}

function NewUser({ me, onCreated }) {
  const roles = lowerRoles(me);
  const [form, setForm] = useState({ login: '', fullName: '', role: roles[0] || '', scopeId: '', staffId: '', password: '' });
  const orgs = useLookup(organizations);
  const muns = useLookup(municipalities);
  const act = useAction();
  const set = (k) => (v) => setForm({ ...form, [k]: v });
  const kind = SCOPE_OF_ROLE[form.role];
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const body = { login: form.login, fullName: form.fullName, role: form.role, password: form.password,
        scope: { kind, id: kind === 'self' ? form.staffId : form.scopeId } };
      if (kind === 'self') body.staffId = form.staffId;
      const u = await api('POST', '/users', { body });
      setForm({ ...form, login: '', fullName: '', password: '' });
      onCreated();
      return u;
    }, (u) => `Пользователь ${u.login} создан`);
  };
  if (!roles.length) return null;
  return html`<form class="card form" onSubmit=${submit}>
    <h2>Новый пользователь</h2>
    <${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    <${Input} label="Логин" value=${form.login} onInput=${set('login')} required hint="латиница, цифры, точка, дефис" autocomplete="off" />
    <${Input} label="ФИО" value=${form.fullName} onInput=${set('fullName')} required />
    <${Select} label="Роль" value=${form.role} onChange=${set('role')} options=${roles.map((r) => [r, ROLES[r]])} />
    ${kind === 'self'
      ? html`<${Input} label="Идентификатор сотрудника в реестре" value=${form.staffId} onInput=${set('staffId')} required hint="например 07-s15" />`
      : html`<${Select} label=${`Область: ${SCOPE_KINDS[kind]}`} value=${form.scopeId} onChange=${set('scopeId')}
          empty="выберите" options=${scopeOptions(kind, me, orgs, muns)} required />`}
    <${Input} label="Пароль" type="password" value=${form.password} onInput=${set('password')} required
      hint="от 10 символов" autocomplete="new-password" />
    <button type="submit" disabled=${act.busy}>Создать пользователя</button>
  </form>`;
}

function DisableButton({ user, onChanged }) {
  const act = useAction();
  const toggle = () => act.run(async () => {
    await api('POST', `/users/${user.id}/status`, { body: { disabled: !user.disabled } });
    onChanged();
  });
  return html`<button type="button" class="secondary small" onClick=${toggle} disabled=${act.busy}
    aria-label=${`${user.disabled ? 'Включить' : 'Отключить'} ${user.login}`}>${user.disabled ? 'Включить' : 'Отключить'}</button>
    ${act.error ? html`<${ErrorBox} error=${act.error} />` : null}`;
}

export function Users({ me }) {
  const [role, setRole] = useState('');
  const list = useList('/users', { role });
  return html`<${Page} title="Пользователи">
    <div class="filter-row">
      <${Select} label="Роль" value=${role} onChange=${setRole} empty="все роли" options=${Object.entries(ROLES).slice(0, 4)} />
    </div>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'Логин', key: 'login' },
      { title: 'ФИО', key: 'fullName' },
      { title: 'Роль', render: (u) => label(ROLES, u.role) },
      { title: 'Область', render: (u) => (u.scope ? `${label(SCOPE_KINDS, u.scope.kind)} ${u.scope.id || ''}` : '—') },
      { title: 'Состояние', render: (u) => (u.disabled ? 'отключён' : 'активен') },
      { title: 'Действие', render: (u) => (u.id !== me.id && lowerRoles(me).includes(u.role)
        ? html`<${DisableButton} user=${u} onChanged=${list.reload} />` : '') },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    <${NewUser} me=${me} onCreated=${list.reload} />
  </${Page}>`;
}

export function ApiKeys({ me }) {
  const list = useList('/api-keys', {});
  const orgs = useLookup(organizations);
  const muns = useLookup(municipalities);
  const [form, setForm] = useState({ name: '', kind: 'organization', id: '' });
  const [secret, setSecret] = useState('');
  const act = useAction();
  const create = (e) => {
    e.preventDefault();
    act.run(async () => {
      const r = await api('POST', '/api-keys', { body: { name: form.name, scope: { kind: form.kind, id: form.id } } });
      setSecret(r.secret);
      setForm({ ...form, name: '' });
      list.reload();
    });
  };
  const revoke = (k) => act.run(async () => {
    await api('DELETE', `/api-keys/${k.id}`);
    list.reload();
  }, `Ключ «${k.name}» отозван`);
  return html`<${Page} title="API-ключи школьных систем">
    <${ErrorBox} error=${list.error} /><${ErrorBox} error=${act.error} /><${Notice} text=${act.done} />
    ${secret ? html`<div class="notice secret" role="status"><p>Ключ выдан. Скопируйте его сейчас — больше он не показывается:</p>
      <code>${secret}</code></div>` : null}
    <${Table} columns=${[
      { title: 'Название', key: 'name' },
      { title: 'Начало ключа', render: (k) => html`<code>${k.prefix}</code>` },
      { title: 'Область', render: (k) => (k.scope ? `${label(SCOPE_KINDS, k.scope.kind)} ${k.scope.id}` : '—') },
      { title: 'Выдан', render: (k) => fmtDate(k.createdAt) },
      { title: 'Использован', render: (k) => fmtDate(k.lastUsedAt, true) },
      { title: 'Состояние', render: (k) => (k.revoked ? 'отозван' : html`<button type="button" class="danger small"
        aria-label=${`Отозвать ключ ${k.name}`} onClick=${() => revoke(k)}>Отозвать</button>`) },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
    <form class="card form" onSubmit=${create}>
      <h2>Выдать ключ</h2>
      <${Input} label="Название системы" value=${form.name} onInput=${(v) => setForm({ ...form, name: v })} required
        hint="например «Электронный журнал МКОУ СОШ № 1»" />
      <${Select} label="Область ключа" value=${form.kind} onChange=${(v) => setForm({ ...form, kind: v, id: '' })}
        options=${[['organization', 'организация'], ['municipality', 'муниципалитет']]} />
      <${Select} label="Организация или муниципалитет" value=${form.id} onChange=${(v) => setForm({ ...form, id: v })}
        empty="выберите" options=${scopeOptions(form.kind, me, orgs, muns)} required />
      <button type="submit" disabled=${act.busy}>Выдать ключ</button>
    </form>
  </${Page}>`;
}

export function Audit() {
  const [action, setAction] = useState('');
  const list = useList('/audit', { action });
  return html`<${Page} title="Журнал аудита">
    <div class="filter-row"><${Select} label="Действие" value=${action} onChange=${setAction} empty="все"
      options=${[['read', 'чтение'], ['create', 'создание'], ['update', 'изменение'], ['delete', 'удаление'], ['login', 'вход'], ['login_failed', 'неудачный вход']]} /></div>
    <${ErrorBox} error=${list.error} />
    <${Table} columns=${[
      { title: 'Когда', render: (a) => fmtDate(a.at, true) },
      { title: 'Кто', key: 'userId' },
      { title: 'Роль', render: (a) => label(ROLES, a.role) },
      { title: 'Действие', key: 'action' },
      { title: 'Объект', render: (a) => `${a.objectKind || ''} ${a.objectId || ''}` },
      { title: 'Адрес', key: 'clientAddress' },
    ]} rows=${list.items} />
    <${Pager} list=${list} />
  </${Page}>`;
}
