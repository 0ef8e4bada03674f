// data.js — CSV import with upload progress and the row-by-row report on screen (dry run first, then
// for real), the import templates, and the CSV exports of every registry list.
import { useState, useEffect } from 'preact/hooks';
import { uploadCsv } from '../api.js';
import { html, Page, Table, ErrorBox, Select, Checkbox, Progress, useId } from '../ui.js';
import { fmtNum } from '../format.js';
import { can } from '../roles.js';
import { ExportLink } from './registry.js';

const IMPORTS = {
  staff: { title: 'Сотрудники', path: '/import/staff', template: '/api/v1/import/templates/staff.csv' },
  organizations: { title: 'Организации', path: '/import/organizations', template: '/api/v1/import/templates/organizations.csv' },
};

function Report({ report }) {
  const n = (k) => fmtNum(report[k] || 0);
  return html`<section class="card report" aria-live="polite">
    <h2>${report.dryRun ? 'Проверка файла (ничего не записано)' : 'Импорт выполнен'}</h2>
    <dl class="counts">
      <div><dt>Строк</dt><dd>${n('rows')}</dd></div>
      <div><dt>Создано</dt><dd>${n('created')}</dd></div>
      <div><dt>Обновлено</dt><dd>${n('updated')}</dd></div>
      <div><dt>Без изменений</dt><dd>${n('unchanged')}</dd></div>
      <div><dt>Отклонено</dt><dd class=${report.rejected ? 'bad' : ''}>${n('rejected')}</dd></div>
    </dl>
    ${(report.errors || []).length ? html`<${Table} caption="Ошибки по строкам" rowKey=${(e) => `${e.row}-${e.column}-${e.message}`}
      columns=${[
        { title: 'Строка', num: true, render: (e) => fmtNum(e.row) },
        { title: 'Столбец', render: (e) => e.column || 'вся строка' },
        { title: 'Что не так', key: 'message' },
      ]} rows=${report.errors} />` : html`<p>Ошибок нет.</p>`}
    ${report.errorsTruncated ? html`<p class="muted">Показаны первые 1 000 ошибок.</p>` : null}
  </section>`;
}

export function ImportScreen({ me }) {
  const [kind, setKind] = useState('staff');
  const [file, setFile] = useState(null);
  const [dryRun, setDryRun] = useState(true);
  const [progress, setProgress] = useState(null);
  const [phase, setPhase] = useState('');
  const [elapsed, setElapsed] = useState(0);
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const fileId = useId('file');
  const kinds = Object.entries(IMPORTS).filter(([k]) => k === 'staff' || can.createOrganization(me));
  useEffect(() => {
    if (!phase) return undefined;
    const started = Date.now();
    const t = setInterval(() => setElapsed(Math.round((Date.now() - started) / 1000)), 500);
    return () => clearInterval(t);
  }, [phase]);
  const submit = async (e) => {
    e.preventDefault();
    if (!file) return;
    setError(null);
    setReport(null);
    setProgress(0);
    setPhase('upload');
    try {
      const r = await uploadCsv(IMPORTS[kind].path, file, { dryRun: dryRun ? 'true' : '' }, (f) => {
        setProgress(f);
        if (f >= 1) setPhase('server');
      });
      setReport(r);
    } catch (err) {
      setError(err);
    } finally {
      setPhase('');
      setProgress(null);
    }
  };
  return html`<${Page} title="Импорт из CSV">
    <form class="card form" onSubmit=${submit}>
      <p>Файл CSV в UTF-8 или Windows-1251, разделитель «;» или «,». Записи с тем же внешним идентификатором
        (СНИЛС, код региона) обновляются, новые — создаются. Сначала проверьте файл: ничего не запишется.</p>
      <${Select} label="Что загружаем" value=${kind} onChange=${setKind} options=${kinds.map(([k, v]) => [k, v.title])} />
      <p><a href=${IMPORTS[kind].template} download>Скачать шаблон CSV</a></p>
      <div class="field"><label for=${fileId}>Файл CSV</label>
        <input id=${fileId} type="file" accept=".csv,text/csv" required onChange=${(e) => setFile(e.currentTarget.files[0] || null)} /></div>
      <${Checkbox} label="Только проверить (ничего не записывать)" checked=${dryRun} onChange=${setDryRun} />
      <button type="submit" disabled=${!file || Boolean(phase)}>${dryRun ? 'Проверить файл' : 'Загрузить'}</button>
      ${phase ? html`<div class="work">
        <${Progress} value=${phase === 'upload' ? progress : null} label="Ход импорта" />
        <p role="status">${phase === 'upload' ? `Передача файла: ${fmtNum(Math.round((progress || 0) * 100))} %`
          : `Сервер проверяет и записывает строки… ${fmtNum(elapsed)} с`}</p></div>` : null}
    </form>
    <${ErrorBox} error=${error} />
    ${report ? html`<${Report} report=${report} />` : null}
  </${Page}>`;
}

export function ExportScreen() {
  const rows = [
    ['organizations', 'Образовательные организации'], ['staff', 'Педагогические и управленческие кадры'],
    ['qualification-records', 'Повышение квалификации'], ['associations', 'Методические объединения'],
    ['councils', 'Методические советы'], ['programmes', 'Каталог программ'], ['practices', 'Банк практик'],
    ['municipalities', 'Муниципальные образования'],
  ];
  return html`<${Page} title="Выгрузки в CSV">
    <p>Файлы CSV для Excel. Выгружается всё, что доступно вашей роли; выгрузку с фильтрами даёт кнопка
      «Выгрузить в CSV» на экране списка.</p>
    <ul class="exports">${rows.map(([k, t]) => html`<li><span>${t}</span> <${ExportLink} kind=${k} text="Скачать CSV" /></li>`)}</ul>
  </${Page}>`;
}
