// format.js — what a person reads: dates ДД.ММ.ГГГГ, numbers with a comma (ru-RU), names.
const numberFmt = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: 1 });

export function fmtNum(n) {
  return n === undefined || n === null || Number.isNaN(Number(n)) ? '—' : numberFmt.format(Number(n));
}

export function fmtPercent(n) {
  return n === undefined || n === null ? '—' : `${fmtNum(n)} %`;
}

// "2024-05-01" or an RFC 3339 instant → "01.05.2024" (instants in local time, with the time when asked).
export function fmtDate(s, withTime = false) {
  if (!s) return '—';
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m) return `${m[3]}.${m[2]}.${m[1]}`;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  const p = (x) => String(x).padStart(2, '0');
  const date = `${p(d.getDate())}.${p(d.getMonth() + 1)}.${d.getFullYear()}`;
  return withTime ? `${date} ${p(d.getHours())}:${p(d.getMinutes())}` : date;
}

export function todayIso() {
  const d = new Date();
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function personName(s) {
  return s ? [s.lastName, s.firstName, s.middleName].filter(Boolean).join(' ') : '—';
}
