// roles.js — what each role may do, as the services decide it (common/scope.c, the services' checks):
// the console never offers an action the API would refuse to that role.
const ADMINS = ['region_admin', 'municipal_methodologist', 'school_admin'];
const BUILDERS = ['region_admin', 'municipal_methodologist'];

export const can = {
  seeRegistry: (me) => ADMINS.includes(me.role),
  createMunicipality: (me) => me.role === 'region_admin',
  createOrganization: (me) => BUILDERS.includes(me.role),
  editStaff: (me) => ADMINS.includes(me.role),
  importData: (me) => ADMINS.includes(me.role),
  importResults: (me) => BUILDERS.includes(me.role),
  manageCampaigns: (me) => me.role === 'region_admin', // «кампании проводит региональный оператор»
  seeCampaigns: (me) => ADMINS.includes(me.role),
  // a municipal methodologist runs self-diagnostics of their own municipality (docs/regulations.md)
  createCampaign: (me) => BUILDERS.includes(me.role),
  manageCampaign: (me, c) => me.role === 'region_admin' || (me.role === 'municipal_methodologist'
    && Boolean(c.municipalityId) && Boolean(me.scope) && me.scope.id === c.municipalityId),
  // schools nominate their staff, a methodologist those of the municipality
  nominateStaff: (me) => me.role === 'school_admin' || me.role === 'municipal_methodologist',
  seeDeficits: (me) => ADMINS.includes(me.role),
  buildRoutes: (me) => BUILDERS.includes(me.role),
  setItemStatus: (me, staffId) => BUILDERS.includes(me.role) || (me.role === 'teacher' && me.staffId === staffId),
  manageUsers: (me) => ADMINS.includes(me.role),
  manageApiKeys: (me) => BUILDERS.includes(me.role),
  seeAudit: (me) => me.role === 'region_admin',
  takeDiagnostics: (me) => Boolean(me.staffId),
  // events (services/events): organizers are the owners' administrators — a school's for its own events,
  // a municipality's methodologists, the region's administrators; they register their staff too
  organizeEvents: (me) => ADMINS.includes(me.role),
  registerStaff: (me) => ADMINS.includes(me.role),
  registerSelf: (me) => Boolean(me.staffId),
  // mentoring (services/mentoring): methodologists and organizations' administrators in their scope;
  // bulk assignment by municipality is the methodologist's (or the region's)
  manageMentoring: (me) => ADMINS.includes(me.role),
  assignMentors: (me) => BUILDERS.includes(me.role),
  // indicators (services/indicators): the territory's values; targets are the region's; snapshots by the
  // region and the municipality; a recommendation's state by its addressee and those above (a key reads only)
  seeIndicators: (me) => ADMINS.includes(me.role),
  setTargets: (me) => me.role === 'region_admin',
  manageOwnIndicators: (me) => me.role === 'region_admin', // own indicators with formulas
  snapshotIndicators: (me) => BUILDERS.includes(me.role),
  actOnRecommendations: (me) => ADMINS.includes(me.role),
  // monitoring (services/monitoring): campaigns by the region and the municipality, which also review the
  // schools' reports; a school administrator fills in their school's
  seeMonitoring: (me) => ADMINS.includes(me.role),
  manageMonitoring: (me) => BUILDERS.includes(me.role),
  reviewMonitoring: (me) => BUILDERS.includes(me.role),
  // notifications (services/notify): subscriptions of the caller's territory
  manageWebhooks: (me) => ADMINS.includes(me.role),
  // the registry's help requests, consultations and council decisions (docs/regulations.md)
  askHelp: (me) => me.role === 'school_admin' || (me.role === 'teacher' && Boolean(me.staffId)),
  answerHelp: (me) => BUILDERS.includes(me.role),
  writeConsultations: (me) => BUILDERS.includes(me.role),
  writeDecisions: (me) => ADMINS.includes(me.role),
};

// Roles a user may create: strictly below their own (auth service).
export function lowerRoles(me) {
  const order = ['region_admin', 'municipal_methodologist', 'school_admin', 'teacher'];
  return order.slice(order.indexOf(me.role) + 1);
}
