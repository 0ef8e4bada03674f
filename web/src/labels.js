// labels.js — Russian names of the API's enum values and roles (the API speaks lower_snake words).
import subjects from './subjects.gen.js';

export const ROLES = {
  region_admin: 'Администратор региона',
  municipal_methodologist: 'Методист муниципалитета',
  school_admin: 'Администратор школы',
  teacher: 'Педагог',
  school_system: 'Школьная система (API-ключ)',
};
export const SCOPE_KINDS = { region: 'регион', municipality: 'муниципалитет', organization: 'организация', self: 'свой профиль' };
export const MUNICIPALITY_KINDS = {
  district: 'муниципальный район / округ', city: 'городской округ', city_district: 'внутригородской район', zato: 'ЗАТО',
};
export const ORGANIZATION_KINDS = {
  school: 'школа (СОШ, ООШ)', lyceum: 'лицей', gymnasium: 'гимназия', progymnasium: 'прогимназия',
  primary_school_kindergarten: 'НШДС', preschool: 'ДОУ', additional_education: 'учреждение ДО', vocational: 'СПО',
  methodological_centre: 'ИМЦ / ММС', regional_centre: 'ЦНППМ / ИРО',
};
export const CATEGORIES = { teacher: 'педагогический работник', manager: 'управленческий кадр' };
export const POSITIONS = {
  teacher: 'учитель', educator: 'воспитатель', senior_educator: 'старший воспитатель',
  additional_education_teacher: 'педагог дополнительного образования', methodologist: 'методист',
  deputy_director: 'заместитель директора', director: 'директор / заведующий', psychologist: 'педагог-психолог',
  speech_therapist: 'учитель-логопед', social_pedagogue: 'социальный педагог', tutor: 'тьютор',
  music_director: 'музыкальный руководитель', lecturer: 'преподаватель',
};
export const QUALIFICATION = {
  none: 'без категории', position_match: 'соответствие занимаемой должности', first: 'первая', highest: 'высшая',
};
export const FORMATS = { in_person: 'очно', distance: 'дистанционно', blended: 'очно-заочно' };
export const LEVELS = { institutional: 'школьный', municipal: 'муниципальный', regional: 'региональный' };
export const ASSOCIATION_KINDS = {
  methodological_association: 'методическое объединение', professional_community: 'профессиональное сообщество',
  network_community: 'сетевое сообщество', creative_group: 'творческая группа', project_group: 'проектная группа',
};
export const PRACTICE_STATUSES = {
  submitted: 'подана', under_review: 'на экспертизе', published: 'опубликована', rejected: 'отклонена',
};
export const CAMPAIGN_KINDS = { self: 'самодиагностика', independent: 'независимая диагностика (ЦНППМ)' };
export const CAMPAIGN_STATUSES = { draft: 'черновик', open: 'идёт', closed: 'завершена' };
export const ROUTE_STATUSES = { draft: 'черновик', approved: 'утверждён' };
export const ITEM_KINDS = {
  programme: 'программа ДПП', internship: 'стажировка', self_education: 'самообразование', event: 'мероприятие',
  mentoring: 'наставничество',
};
export const ITEM_STATUSES = { planned: 'запланирован', in_progress: 'выполняется', done: 'выполнен', cancelled: 'отменён' };
export const SUBJECTS = subjects;

export function label(dict, value) {
  return (value && dict[value]) || value || '—';
}
