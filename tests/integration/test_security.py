"""test_security — the security model end to end on a real stack (issue 3, item 9):

- an authorization matrix generated over EVERY route of the OpenAPI document × role × an object in the
  caller's own scope and one outside it; the expected statuses live in one table, MATRIX, keyed by
  "METHOD path", and a route of the document without an entry fails the test;
- a municipal methodologist cannot see, list, change or learn of another municipality's staff;
- a region administrator is confined to its region;
- brute force: wrong passwords lead to 429 with a growing Retry-After; unknown login and wrong password
  get the same answer;
- session expiry (idle and absolute), logout, a revoked API key refused within the gateway's 5 s cache;
- audit entries for a staff read and a staff change, not readable by a methodologist;
- Redis ACLs: the registry's Redis user cannot read the auth service's keys;
- no password, token or API-key secret used by a test appears in any process log.
"""

import hashlib
import itertools
import json
import os
import re
import subprocess
import time
import unittest
import urllib.parse

from harness import Stack, StackTestCase, bin_dir
from notify_sink import SseStream, publish_event

ROLES = ("region_admin", "municipal_methodologist", "school_admin", "teacher", "school_system", "anonymous")
_seq = itertools.count(1)

# ---------------------------------------------------------------------------------------------------
# The authorization matrix.
#
# Fixture (MatrixTest.prepare): region 07 with municipality A (school A: the teacher's staff record and
# others) and municipality B (school B, its staff); region 08 with its own administrator and objects.
# Callers: region_admin = the administrator of 07; municipal_methodologist of A; school_admin of
# school A; teacher = scope self, the staff record tA of school A; school_system = an API key scoped
# to school A; anonymous = no Authorization header.
#
# Each entry: (own, other), each six cells in the order of ROLES. "own" acts on an object inside
# municipality A (for region-level objects: region 07; for a teacher's own record: tA); "other" on
# one outside it (municipality B of the same region, or region 08 for region-level objects). A cell is
# an HTTP status, or for lists L = 200 with the object listed, H = 200 with the object absent.
# Conventions: 404 = the object is outside the caller's read scope (existence not revealed); 403 = the
# caller may read it but not do this; 401 = no token; 409 on DELETE = the scope check passed and the
# non-empty guard refused (the fixture's territories are never empty); 409 on POST /regions = the scope
# check passed and region 07 exists already. 400 on a create = the referenced school / scope target
# lies outside the caller's read scope and is reported as not found, word for word the answer for an
# id that does not exist (test_methodologist_cannot_learn_of_other_municipality_staff checks the
# sameness); 403 on a create = the caller may see the target but not create there.
# For CSV import C = 200 with the row created, R = 200 with the row rejected; for CSV export L/H look for
# the object's name in the file. Sub-lists under a parent (members, meetings) are narrowed like lists.
# A route of a service the harness does not run would say so with NOT_IN_HARNESS("service").
# ---------------------------------------------------------------------------------------------------


class NOT_IN_HARNESS:  # noqa: N801 — reads as a table marker
    def __init__(self, service):
        self.service = service


#            region_admin  methodologist  school_admin  teacher  school_system  anonymous
MATRIX = {
    # service endpoints: public
    "GET /healthz": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /readyz": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /metrics": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "GET /healthz/processes": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    # auth service
    "POST /api/v1/auth/login": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "POST /api/v1/auth/logout": ("200 200 200 200 200 401", "200 200 200 200 200 401"),
    "GET /api/v1/me": ("200 200 200 200 404 401", "200 200 200 200 404 401"),
    "POST /api/v1/users": ("201 201 201 403 403 401", "201 400 400 403 403 401"),
    "GET /api/v1/users": ("L L L L 403 401", "L H H H 403 401"),
    "GET /api/v1/users/{id}": ("200 200 200 200 404 401", "200 404 404 404 404 401"),
    # a key sees no user accounts (issue 17: 404, as GET /users/{id} answers it)
    "POST /api/v1/users/{id}/status": ("200 200 200 404 404 401", "200 404 404 404 404 401"),
    "POST /api/v1/users/{id}/password": ("200 200 200 404 404 401", "200 404 404 404 404 401"),
    "POST /api/v1/api-keys": ("201 201 403 403 403 401", "201 400 403 403 403 401"),
    "GET /api/v1/api-keys": ("L L 403 403 403 401", "L H 403 403 403 401"),
    # a key is seen only by who may revoke it (issue 17): a school's own key is as unknown to it as a missing one
    "DELETE /api/v1/api-keys/{id}": ("200 200 404 404 404 401", "200 404 404 404 404 401"),
    "GET /api/v1/audit": ("200 403 403 403 403 401", "200 403 403 403 403 401"),
    # registry: regions (own = 07, other = 08)
    "POST /api/v1/regions": ("409 403 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/regions": ("L L L H L 401", "H H H H H 401"),
    "GET /api/v1/regions/{id}": ("200 200 200 404 200 401", "404 404 404 404 404 401"),
    "PATCH /api/v1/regions/{id}": ("200 403 403 404 403 401", "404 404 404 404 404 401"),
    "DELETE /api/v1/regions/{id}": ("409 403 403 404 403 401", "404 404 404 404 404 401"),
    # municipalities (own = A; other = B, and creation in region 08)
    "POST /api/v1/municipalities": ("201 403 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/municipalities": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/municipalities/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/municipalities/{id}": ("200 403 403 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/municipalities/{id}": ("409 403 403 404 403 401", "409 404 404 404 404 401"),
    # organizations (own = school A; other = school B)
    "POST /api/v1/organizations": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/organizations": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/organizations/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/organizations/{id}": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/organizations/{id}": ("409 409 409 404 403 401", "409 404 404 404 404 401"),
    # staff (own = the teacher's record tA, or a fresh member of school A; other = school B)
    "POST /api/v1/staff": ("201 201 201 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/staff": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/staff/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/staff/{id}": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/staff/{id}": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    # associations (own = a municipal association of A; other = of B): a municipality's methodologists
    # also write what the municipality owns
    "POST /api/v1/associations": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/associations": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/associations/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/associations/{id}": ("200 200 403 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/associations/{id}": ("409 409 403 404 403 401", "409 404 404 404 404 401"),
    # memberships (own = the teacher's membership in A's association; a fresh member per create/leave)
    "POST /api/v1/associations/{association_id}/members": ("201 201 403 400 403 401", "201 400 400 400 400 401"),
    # a membership sub-list of a parent the caller cannot read answers 404, like a missing parent (issue 17): a
    # person reads no association record, so reads their memberships through /staff/{self}/memberships
    "GET /api/v1/associations/{association_id}/members": ("L L L 404 L 401", "L 404 404 404 404 401"),
    "POST /api/v1/associations/{association_id}/members/{membership_id}/leave": ("200 200 403 404 403 401",
                                                                                   "200 404 404 404 404 401"),
    "GET /api/v1/memberships/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "GET /api/v1/staff/{staff_id}/memberships": ("L L L L L 401", "L 404 404 404 404 401"),
    # councils (own = the council of school A chaired by the teacher; other = of school B)
    "POST /api/v1/councils": ("201 201 201 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/councils": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/councils/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/councils/{id}": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/councils/{id}": ("409 409 409 404 403 401", "409 404 404 404 404 401"),
    "POST /api/v1/councils/{council_id}/meetings": ("201 201 201 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/councils/{council_id}/meetings": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/council-meetings/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/council-meetings/{id}": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/council-meetings/{id}": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    # the printable minutes (HTML): whoever reads the meeting
    "GET /api/v1/council-meetings/{id}/protocol": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    # decisions and recommendations (own = of school A's council; other = of school B's): as its meetings
    "POST /api/v1/council-decisions": ("201 201 201 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/council-decisions": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/council-decisions/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/council-decisions/{id}": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/council-decisions/{id}": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/export/council-decisions": ("L L L H L 401", "L H H H H 401"),
    # programmes: region objects (own = 07, other = 08); the own one has a qualification record
    "POST /api/v1/programmes": ("201 403 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/programmes": ("L L L L L 401", "H H H H H 401"),
    "GET /api/v1/programmes/{id}": ("200 200 200 200 200 401", "404 404 404 404 404 401"),
    "PATCH /api/v1/programmes/{id}": ("200 403 403 403 403 401", "404 404 404 404 404 401"),
    "DELETE /api/v1/programmes/{id}": ("409 403 403 403 403 401", "404 404 404 404 404 401"),
    # qualification records: person objects (own = the teacher's; other = of school B); the person reads
    # their own, never writes them
    "POST /api/v1/qualification-records": ("201 201 201 403 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/qualification-records": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/qualification-records/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/qualification-records/{id}": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/staff/{staff_id}/qualification-records": ("L L L L L 401", "L H H H H 401"),
    # practices (own = authored by the teacher, submitted; other = by a teacher of school B): the author
    # writes; experts (region, methodologists) review
    "POST /api/v1/practices": ("201 201 201 201 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/practices": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/practices/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    # teacher, own: the author edits their practice; the school it names stays even though a person
    # cannot read the school record itself (only new references must be visible)
    "PATCH /api/v1/practices/{id}": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/practices/{id}": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/practices/{id}/review": ("200 200 403 403 403 401", "200 404 404 404 404 401"),
    # CSV import (C = 200 with the row created, R = 200 with the row rejected) and export (L/H: the
    # object in the file); read-only callers and people (scope self) do not import
    "POST /api/v1/import/organizations": ("C C R 403 403 401", "C R R 403 403 401"),
    "POST /api/v1/import/staff": ("C C C 403 403 401", "C R R 403 403 401"),
    "GET /api/v1/import/templates/organizations.csv": ("200 200 200 200 200 401", "200 200 200 200 200 401"),
    "GET /api/v1/import/templates/staff.csv": ("200 200 200 200 200 401", "200 200 200 200 200 401"),
    # results of an external diagnostic centre: own = an independent campaign of region 07 and a person
    # of school A; other = a campaign of region 08 (not even its existence is visible from 07). The
    # regional operator and the municipality's methodologist import; nobody else.
    "POST /api/v1/diagnostics/results/import": ("C C 403 403 403 401", "404 404 404 404 404 401"),
    "GET /api/v1/diagnostics/results/import/template.csv": ("200 200 403 403 403 401",
                                                            "404 404 404 404 404 401"),
    "GET /api/v1/export/organizations": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/export/staff": ("L L L L L 401", "L H H H H 401"),
    # export of the other lists: the same cells as the list (L/H: the object's id starts a row of the file)
    "GET /api/v1/export/municipalities": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/export/associations": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/export/memberships": ("L L L 404 L 401", "L 404 404 404 404 401"),
    "GET /api/v1/export/councils": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/export/council-meetings": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/export/programmes": ("L L L L L 401", "H H H H H 401"),
    "GET /api/v1/export/qualification-records": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/export/practices": ("L L L L L 401", "L H H H H 401"),
    # requests for methodological help (own = filed by the teacher tA of school A; other = by a teacher of
    # school B): a teacher files and edits their own, a school its people's; only methodologists answer
    "POST /api/v1/help-requests": ("201 201 201 201 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/help-requests": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/help-requests/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/help-requests/{id}": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/help-requests/{id}": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/help-requests/{id}/status": ("200 200 403 403 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/export/help-requests": ("L L L L L 401", "L H H H H 401"),
    # the journal of consultations (own = school A's, asked by tA; other = school B's): the methodological
    # service keeps it; the school reads what concerns it, the teacher what they asked; a key reads nothing
    "POST /api/v1/consultations": ("201 201 403 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/consultations": ("L L L L H 401", "L H H H H 401"),
    "GET /api/v1/consultations/{id}": ("200 200 200 200 404 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/consultations/{id}": ("200 200 403 403 404 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/consultations/{id}": ("200 200 403 403 404 401", "200 404 404 404 404 401"),
    "GET /api/v1/export/consultations": ("L L L L H 401", "L H H H H 401"),
    # diagnostics: frameworks, instruments and campaigns are region objects (own = 07, other = 08)
    "GET /api/v1/competences": ("L L L L L 401", "H H H H H 401"),
    "GET /api/v1/competences/{id}": ("200 200 200 200 200 401", "404 404 404 404 404 401"),
    "PATCH /api/v1/competences/{id}": ("200 403 403 403 403 401", "404 404 404 404 404 401"),
    "POST /api/v1/instruments": ("201 403 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/instruments": ("L L L L L 401", "H H H H H 401"),
    "GET /api/v1/instruments/{id}": ("200 200 200 200 200 401", "404 404 404 404 404 401"),
    "PATCH /api/v1/instruments/{id}": ("200 403 403 403 403 401", "404 404 404 404 404 401"),
    # a municipal methodologist runs self-diagnostics of their own municipality (issue 12; the campaign of
    # a methodologist becomes municipal); changing the region's campaigns stays the region's
    "POST /api/v1/diagnostics/campaigns": ("201 201 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/diagnostics/campaigns": ("L L L L L 401", "H H H H H 401"),
    "GET /api/v1/diagnostics/campaigns/{id}": ("200 200 200 200 200 401", "404 404 404 404 404 401"),
    "PATCH /api/v1/diagnostics/campaigns/{id}": ("200 403 403 403 403 401", "404 404 404 404 404 401"),
    "POST /api/v1/diagnostics/campaigns/{id}/open": ("200 403 403 403 403 401", "404 404 404 404 404 401"),
    "POST /api/v1/diagnostics/campaigns/{id}/close": ("200 403 403 403 403 401", "404 404 404 404 404 401"),
    "GET /api/v1/diagnostics/campaigns/{id}/progress": ("200 200 200 200 200 401", "404 404 404 404 404 401"),
    # a school nominates its people (own = the open campaign of 07 and a person of school A; other = a
    # campaign of 08); the summary of deficits is for the methodological service and the schools
    "POST /api/v1/diagnostics/campaigns/{campaign_id}/nominations": ("200 200 200 403 403 401",
                                                                     "404 404 404 404 404 401"),
    "GET /api/v1/diagnostics/deficits": ("200 200 200 403 403 401", "404 404 404 403 403 401"),
    "GET /api/v1/export/deficits": ("200 200 200 403 403 401", "404 404 404 403 403 401"),
    # attempts, results, profiles and routes: person objects (own = the teacher tA, or a fresh person of
    # school A per route-changing cell; other = a teacher of school B, campaign of 07 for both)
    "POST /api/v1/diagnostics/attempts": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/diagnostics/attempts": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/diagnostics/attempts/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/diagnostics/attempts/{id}": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/diagnostics/attempts/{id}/submit": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/diagnostics/results": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/diagnostics/results/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "GET /api/v1/staff/{id}/competence-profile": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "GET /api/v1/staff/{id}/route": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    # a school builds the routes of its own staff (001 п.14.1)
    "POST /api/v1/staff/{id}/route": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/staff/{id}/route": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/staff/{id}/route/approve": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/staff/{id}/route/items/{item_id}/status": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    # the agreement (issue 12): a draft is proposed by its builders or by the teacher (409 for tA: their
    # route is approved already); only the teacher agrees (409 for tA: nothing proposed); the
    # methodologist or the tutor confirms a done item (409: the item waits for nothing — the scope and
    # role checks passed); the versions are read like the route
    "POST /api/v1/staff/{id}/route/propose": ("200 200 200 409 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/staff/{id}/route/agree": ("403 403 403 409 403 401", "403 404 404 404 404 401"),
    "POST /api/v1/staff/{id}/route/items/{item_id}/confirm": ("409 409 403 403 403 401", "409 404 404 404 404 401"),
    "GET /api/v1/staff/{id}/route/versions": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    # notifications (services/notify): own = the subscription school A's key made (its owner), a notification of
    # municipality A; other = a subscription for school B made by the region administrator, a notification of
    # municipality B. A school's key manages only its own; people within their scope; teachers none.
    "POST /api/v1/webhooks": ("201 201 201 403 201 401", "201 403 403 403 403 401"),
    "GET /api/v1/webhooks": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/webhooks/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/webhooks/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "POST /api/v1/webhooks/{id}/enable": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "POST /api/v1/webhooks/{id}/disable": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "GET /api/v1/webhooks/{id}/deliveries": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/retry": ("200 200 200 404 200 401",
                                                                   "200 404 404 404 404 401"),
    "GET /api/v1/notifications": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/notifications/stream": ("L L L L L 401", "L H H H H 401"),
    # events (own = municipality A's approved plan, published event, the teacher's registration; other = of
    # municipality B): organizers write (the region, the municipality's methodologists), a draft is read only by
    # them, a published event or approved plan by everybody of its municipality; a person registers themself,
    # the school its people; the school system reads
    "POST /api/v1/event-plans": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/event-plans": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/event-plans/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/event-plans/{id}": ("200 200 403 403 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/event-plans/{id}": ("409 409 403 403 403 401", "409 404 404 404 404 401"),
    "POST /api/v1/event-plans/{id}/approve": ("200 200 404 404 404 401", "200 404 404 404 404 401"),
    "GET /api/v1/export/event-plans": ("L L L L L 401", "L H H H H 401"),
    "POST /api/v1/events": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/events": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/events/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/events/{id}": ("200 200 403 403 403 401", "200 404 404 404 404 401"),
    "DELETE /api/v1/events/{id}": ("409 409 403 403 403 401", "409 404 404 404 404 401"),
    "POST /api/v1/events/{id}/publish": ("200 200 404 404 404 401", "200 404 404 404 404 401"),
    "POST /api/v1/events/{id}/cancel": ("200 200 403 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/events/{id}/finish": ("200 200 403 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/events/{id}/registrations": ("201 201 201 201 403 401", "201 404 404 404 404 401"),
    "GET /api/v1/events/{event_id}/registrations": ("L L L L L 401", "L 404 404 404 404 401"),
    "GET /api/v1/events/{event_id}/registrations.csv": ("L L L L L 401", "L 404 404 404 404 401"),
    "POST /api/v1/events/{id}/attendance": ("200 200 403 403 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/export/events": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/registrations/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "POST /api/v1/registrations/{id}/cancel": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/staff/{staff_id}/registrations": ("L L L L L 401", "L H H H H 401"),
    # mentoring (services/mentoring): support programmes of municipality A / B; mentor profiles and pairs
    # of people of school A (the teacher tA is the own mentor) / school B. Changing cells act on a fresh
    # pair each (proposed, or active for complete and meetings); the teacher's own cells on a pair it mentors.
    "POST /api/v1/support-programmes": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/support-programmes": ("L L L L L 401", "L L L L L 401"),
    "GET /api/v1/support-programmes/{id}": ("200 200 200 200 200 401", "200 200 200 200 200 401"),
    "PATCH /api/v1/support-programmes/{id}": ("200 200 403 403 403 401", "200 403 403 403 403 401"),
    "DELETE /api/v1/support-programmes/{id}": ("409 409 403 403 403 401", "409 403 403 403 403 401"),
    "GET /api/v1/export/support-programmes": ("L L L L L 401", "L L L L L 401"),
    "POST /api/v1/mentors": ("201 201 201 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/mentors": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/mentors/{staff_id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/mentors/{staff_id}": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/export/mentors": ("L L L L L 401", "L H H H H 401"),
    "POST /api/v1/mentoring-pairs": ("201 201 201 400 403 401", "201 400 400 400 400 401"),
    "GET /api/v1/mentoring-pairs": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/mentoring-pairs/{id}": ("200 200 200 200 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/mentoring-pairs/{id}": ("200 200 200 403 403 401", "200 404 404 403 404 401"),
    "POST /api/v1/mentoring-pairs/{id}/activate": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/mentoring-pairs/{id}/complete": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/mentoring-pairs/{id}/cancel": ("200 200 200 403 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/mentoring-pairs/{id}/meetings": ("200 200 200 200 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/export/mentoring-pairs": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/staff/{staff_id}/mentoring": ("L L L L L 401", "L H H H H 401"),
    "GET /api/v1/mentoring/matches": ("200 200 200 403 403 401", "200 404 404 403 403 401"),
    "POST /api/v1/mentoring/assignments": ("200 200 200 403 403 401", "200 200 200 403 403 401"),
    # indicators: values of municipality A (own) or B (other); targets of region 07 (own) or 08 (other);
    # snapshots and recommendations of A's and B's scope (a recommendation addressed to school A or B)
    "GET /api/v1/indicators": ("200 200 200 200 200 401", "403 403 403 403 403 401"),
    "GET /api/v1/indicator-values": ("200 200 403 403 403 401", "200 403 403 403 403 401"),
    "POST /api/v1/indicators/recompute": ("200 403 403 403 403 401", "403 403 403 403 403 401"),
    "PUT /api/v1/indicator-targets/{indicator}": ("200 403 403 403 403 401", "403 403 403 403 403 401"),
    "POST /api/v1/indicator-snapshots": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/indicator-snapshots": ("L L H 403 H 401", "L H H 403 H 401"),
    "GET /api/v1/indicator-snapshots/{id}": ("200 200 404 404 404 401", "200 404 404 404 404 401"),
    "GET /api/v1/recommendations": ("L L 403 403 403 401", "L 403 403 403 403 401"),
    "POST /api/v1/recommendations/{id}/status": ("200 200 200 404 403 401", "200 404 404 404 404 401"),
    # own indicators of region 07 (own) or 08 (other, ?regionId=08): its administrator only; the yearly report
    # of municipality A or B: as the values
    "POST /api/v1/indicators": ("201 403 403 403 403 401", "403 403 403 403 403 401"),
    "PUT /api/v1/indicators/{code}": ("200 403 403 403 403 401", "403 403 403 403 403 401"),
    "DELETE /api/v1/indicators/{code}": ("200 403 403 403 403 401", "403 403 403 403 403 401"),
    "GET /api/v1/reports/yearly": ("200 200 403 403 403 401", "200 403 403 403 403 401"),
    # monitoring (own = municipality A's campaign and school A's report; other = municipality B's): the region
    # and the municipality's methodologists run campaigns; a school reads its municipality's campaigns, fills in
    # only its own report (nobody else writes it, the region included) and sees neither the others' reports nor
    # the progress; a methodologist reviews only its municipality's schools (403 for another's: the review is
    # refused by the report's municipality); teachers have no part in it; a school's key reads its campaign and
    # its own report
    "POST /api/v1/monitoring/campaigns": ("201 201 403 403 403 401", "201 403 403 403 403 401"),
    "GET /api/v1/monitoring/campaigns": ("L L L H L 401", "L H H H H 401"),
    "GET /api/v1/monitoring/campaigns/{id}": ("200 200 200 404 200 401", "200 404 404 404 404 401"),
    "PATCH /api/v1/monitoring/campaigns/{id}": ("200 200 403 404 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/monitoring/campaigns/{id}/open": ("200 200 403 404 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/monitoring/campaigns/{id}/close": ("200 200 403 404 403 401", "200 404 404 404 404 401"),
    "POST /api/v1/monitoring/campaigns/{id}/reopen": ("200 200 403 404 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/monitoring/form-templates": ("200 200 200 200 200 401", "200 200 200 200 200 401"),
    "GET /api/v1/monitoring/campaigns/{campaign_id}/reports": ("200 200 403 404 403 401",
                                                               "200 404 404 404 404 401"),
    "GET /api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}": ("200 200 200 404 200 401",
                                                                                 "200 404 404 404 404 401"),
    "PUT /api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}": ("403 403 200 403 403 401",
                                                                                 "403 403 403 403 403 401"),
    "POST /api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}/submit": (
        "403 403 200 403 403 401", "403 403 403 403 403 401"),
    "POST /api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}/approve": (
        "200 200 403 403 403 401", "200 403 403 403 403 401"),
    "POST /api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}/return": (
        "200 200 403 403 403 401", "200 403 403 403 403 401"),
    "GET /api/v1/monitoring/campaigns/{id}/progress": ("200 200 403 404 403 401", "200 404 404 404 404 401"),
    "GET /api/v1/monitoring/campaigns/{id}/snapshots": ("200 200 404 404 404 401", "200 404 404 404 404 401"),
    "GET /api/v1/monitoring/campaigns/{id}/snapshots/{version}": ("200 200 404 404 404 401",
                                                                  "200 404 404 404 404 401"),
}

def is_mentoring_route(route):
    """The rows of the mentoring service (SecurityFixture.mentoring_request builds their requests)."""
    return any(part in route for part in ("/support-programmes", "/mentors", "mentoring"))


# Issue 17: objects the two sides above do not reach. route → {case: six cells in the order of ROLES}.
#   above     — a user not below the school's and methodologist's rank (another methodologist of A), a key
#               scoped to municipality A itself: they lie in territory enclosing the caller, yet are not its to see
#   admin     — the region administrator's own user record
#   missing   — an id that does not exist: every object the caller may not see answers like it
#   neighbour — a staff member of another school of municipality A, a member of A's municipal association: a
#               school sees the association and its own people in it, not the other schools' people
#   taken     — an external id held by a person of municipality B, in a dry-run import: U = 200 with the row
#               updated, T = 200 with the row refused with the one answer for a taken id (the same words as for
#               an id taken inside one's own scope)
_404 = "404 404 404 404 404 401"
CASES = {
    "GET /api/v1/users/{id}": {"above": "200 404 404 404 404 401", "admin": "200 404 404 404 404 401",
                               "missing": _404},
    "POST /api/v1/users/{id}/status": {"above": "200 404 404 404 404 401", "missing": _404},
    "POST /api/v1/users/{id}/password": {"above": "200 404 404 404 404 401", "admin": "403 404 404 404 404 401",
                                         "missing": _404},
    "GET /api/v1/users": {"above": "L H H H 403 401"},
    "DELETE /api/v1/api-keys/{id}": {"above": "200 404 404 404 404 401", "missing": _404},
    "GET /api/v1/api-keys": {"above": "L H 403 403 403 401"},
    "GET /api/v1/staff/{staff_id}/memberships": {"neighbour": "L L 404 404 404 401", "missing": _404},
    "GET /api/v1/associations/{association_id}/members": {"neighbour": "L L H 404 H 401", "missing": _404},
    "GET /api/v1/memberships/{id}": {"neighbour": "200 200 404 404 404 401", "missing": _404},
    "POST /api/v1/associations/{association_id}/members/{membership_id}/leave": {
        "neighbour": "200 200 404 404 404 401", "missing": _404},
    "GET /api/v1/export/memberships": {"neighbour": "L L H 404 H 401", "missing": _404},
    "POST /api/v1/import/staff": {"taken": "U T T 403 403 401"},
}
# The one answer for an external id another record holds (registry_claim_guard.h).
EXTERNAL_ID_TAKEN = "Этот внешний идентификатор уже у другой записи региона"


def staff_body(org_id, **over):
    body = {
        "lastName": "Кажарова", "firstName": "Мадина", "middleName": "Аслановна",
        "birthDate": "1985-04-12", "professionStartDate": "2007-09-01",
        "position": "teacher", "category": "teacher", "subjects": ["mathematics"],
        "organizationIds": [org_id], "qualificationCategory": "first", "active": True,
    }
    body.update(over)
    return body


def new_password():
    return "Пароль-" + os.urandom(8).hex()


class SecurityFixture:
    """Two municipalities of region 07, region 08, users of every role, API keys; every secret used is
    remembered in self.secrets for the log check."""

    def __init__(self, stack):
        self.stack = stack
        self.secrets = [stack.admin_password]
        self.tokens = {}
        self.ids = {"own": {}, "other": {}}
        self.user_logins = {}

    def must(self, r, status, what):
        if r.status != status:
            raise AssertionError(f"подготовка: {what}: ожидался {status}, получен {r!r}")
        return r.json

    def admin(self, method, path, body=None, token=True):
        return self.stack.request(method, path, body, token=token)

    def staff(self, org, token=True, **over):
        return self.must(self.admin("POST", "/api/v1/staff", staff_body(org, **over), token=token), 201,
                         "сотрудник")["id"]

    def user(self, role, kind, scope_id, staff_id=None, token=True):
        login = f"u{next(_seq)}-{os.urandom(3).hex()}"
        password = new_password()
        self.secrets.append(password)
        body = {"login": login, "password": password, "fullName": "Проверка Прав", "role": role,
                "scope": {"kind": kind, "id": scope_id}}
        if staff_id:
            body["staffId"] = staff_id
        u = self.must(self.admin("POST", "/api/v1/users", body, token=token), 201, f"пользователь {role}")
        self.user_logins[u["id"]] = (login, password)
        return u["id"], login, password

    def api_key(self, org, token=True):
        r = self.must(self.admin("POST", "/api/v1/api-keys", {"name": f"Дневник {next(_seq)}",
                                                              "scope": {"kind": "organization", "id": org}},
                                 token=token), 201, "API-ключ")
        self.secrets.append(r["secret"])
        return r["key"]["id"], r["secret"]

    def login(self, login, password):
        token = self.stack.login(login, password)
        self.secrets.append(token)
        return token

    def build(self):
        s = self.stack
        self.secrets.extend(s.tokens)
        self.must(self.admin("POST", "/api/v1/regions", {"id": "07", "name": "Кабардино-Балкарская Республика"}),
                  201, "регион 07")
        mun = {}
        org = {}
        for side, name in (("own", "А"), ("other", "Б")):
            mun[side] = self.must(self.admin("POST", "/api/v1/municipalities",
                                             {"regionId": "07", "name": f"Район {name}", "kind": "district"}),
                                  201, "муниципалитет")["id"]
            org[side] = self.must(self.admin("POST", "/api/v1/organizations",
                                             {"municipalityId": mun[side], "name": f"СОШ № 1 района {name}",
                                              "shortName": f"СОШ {name}", "kind": "school"}), 201, "школа")["id"]
        self.mun, self.org = mun, org
        self.teacher_staff = self.staff(org["own"], lastName="Учителева")
        self.other_staff = self.staff(org["other"], lastName="Чужая")
        # region 08 with its own administrator
        self.admin08_password = new_password()
        self.secrets.append(self.admin08_password)
        s.bootstrap_admin("08", "admin08", self.admin08_password)
        self.admin08 = self.login("admin08", self.admin08_password)
        self.must(self.admin("POST", "/api/v1/regions", {"id": "08", "name": "Регион 08"}, token=self.admin08),
                  201, "регион 08")
        self.mun08 = self.must(self.admin("POST", "/api/v1/municipalities",
                                          {"regionId": "08", "name": "Район 08", "kind": "district"},
                                          token=self.admin08), 201, "муниципалитет 08")["id"]
        self.org08 = self.must(self.admin("POST", "/api/v1/organizations",
                                          {"municipalityId": self.mun08, "name": "Школа 08", "shortName": "Ш08",
                                           "kind": "school"}, token=self.admin08), 201, "школа 08")["id"]
        self.staff08 = self.staff(self.org08, token=self.admin08, lastName="Региональная")
        # callers
        mm, mm_login, mm_pw = self.user("municipal_methodologist", "municipality", mun["own"])
        sa, sa_login, sa_pw = self.user("school_admin", "organization", org["own"])
        te, te_login, te_pw = self.user("teacher", "self", self.teacher_staff, staff_id=self.teacher_staff)
        ub, _, _ = self.user("school_admin", "organization", org["other"])
        self.role_users = {"municipal_methodologist": (mm_login, mm_pw), "school_admin": (sa_login, sa_pw),
                           "teacher": (te_login, te_pw)}
        key_own, key_secret = self.api_key(org["own"])
        key_other, _ = self.api_key(org["other"])
        self.key_id = key_own
        self.tokens = {"region_admin": s.tokens[0], "school_system": key_secret, "anonymous": None}
        for role, (login, password) in self.role_users.items():
            self.tokens[role] = self.login(login, password)
        self.ids["own"] = {"region": "07", "municipality": mun["own"], "organization": org["own"],
                           "staff": self.teacher_staff, "user": te, "apikey": key_own, "login": (sa_login, sa_pw)}
        ob_login, ob_pw = self.user_logins[ub]
        self.ids["other"] = {"region": "08", "municipality": mun["other"], "organization": org["other"],
                             "staff": self.other_staff, "user": ub, "apikey": key_other, "login": (ob_login, ob_pw)}
        self.build_catalogue()
        self.build_diagnostics()
        self.build_events()
        self.build_mentoring()
        self.build_monitoring()
        self.build_cases()
        self.build_indicators()
        self.build_notify()

    # ---- notifications ----

    HOOK_URL = "http://127.0.0.1:9/metodnet"  # nobody listens: deliveries stay pending

    def webhook(self, side):
        if side == "own":
            r = self.admin("POST", "/api/v1/webhooks", {"url": self.HOOK_URL}, token=self.tokens["school_system"])
        else:
            r = self.admin("POST", "/api/v1/webhooks", {"url": self.HOOK_URL, "municipalityId": self.mun["other"],
                                                        "organizationId": self.org["other"]})
        return self.must(r, 201, "подписка")["id"]

    def build_notify(self):
        hooks = {side: self.webhook(side) for side in ("own", "other")}
        for side in ("own", "other"):
            publish_event(self.stack, "event.published", f"07-e{800 + len(side)}", "municipal", self.mun[side],
                          self.org[side], f"Семинар {side}")
        for side in ("own", "other"):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                items = self.must(self.admin("GET", f"/api/v1/webhooks/{hooks[side]}/deliveries"), 200,
                                  "журнал доставок")["items"]
                if items:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("подготовка: доставка не появилась")
            self.ids[side].update({"webhook": hooks[side], "delivery": items[0]["id"],
                                   "notification": items[0]["notificationId"]})


    # ---- the registry catalogue and the diagnostics service ----

    def created(self, r, what):
        if r.status not in (200, 201):
            raise AssertionError(f"подготовка: {what}: ожидался 201, получен {r!r}")
        return r.json

    def association(self, side, token=True):
        return self.created(self.admin("POST", "/api/v1/associations", {
            "name": f"РМО учителей математики {next(_seq)}", "kind": "methodological_association", "level": "municipal",
            "municipalityId": self.mun[side], "subject": "mathematics"}, token=token), "объединение")["id"]

    def membership(self, side, staff=None):
        staff = staff or self.staff(self.org[side])
        return self.created(self.admin("POST", f"/api/v1/associations/{self.assoc[side]}/members",
                                       {"staffId": staff, "joinedOn": "2024-09-01"}), "членство")["id"]

    def meeting(self, side):
        return self.created(self.admin("POST", f"/api/v1/councils/{self.council[side]}/meetings", {
            "heldOn": "2024-10-15", "agenda": [{"title": "Итоги диагностики"}]}), "заседание")["id"]

    def qualification(self, side):
        return self.created(self.admin("POST", "/api/v1/qualification-records", {
            "staffId": self.person[side], "programmeTitle": "Наставничество", "hours": 36,
            "completedOn": "2024-04-20"}), "запись о повышении квалификации")["id"]

    def practice(self, side):
        return self.created(self.admin("POST", "/api/v1/practices", {
            "title": f"Смысловое чтение {next(_seq)}", "authorStaffId": self.person[side],
            "description": "Приёмы работы с текстом задачи"}), "практика")["id"]

    def decision(self, side):
        return self.created(self.admin("POST", "/api/v1/council-decisions", self.decision_body(side)),
                            "решение совета")["id"]

    def decision_body(self, side):
        return {"councilId": self.council[side], "kind": "recommendation", "text": f"Провести семинар {next(_seq)}",
                "addressee": "Руководители ШМО", "dueOn": "2026-12-31"}

    def help_request(self, side):
        return self.created(self.admin("POST", "/api/v1/help-requests", {
            "staffId": self.person[side], "topic": f"Формирующее оценивание {next(_seq)}", "urgency": "normal"}),
            "запрос на методическую помощь")["id"]

    def consultation(self, side):
        return self.created(self.admin("POST", "/api/v1/consultations", self.consultation_body(side)),
                            "консультация")["id"]

    def consultation_body(self, side):
        return {"organizationId": self.org[side], "asker": "teacher", "askerStaffId": self.person[side],
                "topic": f"Рабочая программа {next(_seq)}", "form": "in_person", "consultantName": "Методистова А. А.",
                "heldOn": "2025-10-01"}

    def build_catalogue(self):
        self.person = {"own": self.teacher_staff, "other": self.other_staff}
        self.assoc = {side: self.association(side) for side in ("own", "other")}
        self.member = {side: self.membership(side, self.person[side]) for side in ("own", "other")}
        self.council = {side: self.created(self.admin("POST", "/api/v1/councils", {
            "name": f"Методический совет {side}", "level": "institutional", "organizationId": self.org[side],
            "chairStaffId": self.person[side]}), "совет")["id"] for side in ("own", "other")}
        self.meetings = {side: self.meeting(side) for side in ("own", "other")}
        self.programme = {
            "own": self.created(self.admin("POST", "/api/v1/programmes", {
                "regionId": "07", "title": "Современный урок", "provider": "ЦНППМ", "hours": 36,
                "format": "blended"}), "программа")["id"],
            "other": self.created(self.admin("POST", "/api/v1/programmes", {
                "regionId": "08", "title": "Программа 08", "provider": "ИРО", "hours": 36, "format": "distance"},
                token=self.admin08), "программа 08")["id"]}
        self.qual = {side: self.qualification(side) for side in ("own", "other")}
        # the own programme has a record: its delete is refused by the non-empty guard
        self.created(self.admin("POST", "/api/v1/qualification-records", {
            "staffId": self.teacher_staff, "programmeId": self.programme["own"], "completedOn": "2024-04-20"}),
            "запись по программе")
        self.practices = {side: self.practice(side) for side in ("own", "other")}
        self.helps = {side: self.help_request(side) for side in ("own", "other")}
        self.decisions = {side: self.decision(side) for side in ("own", "other")}
        self.consultations = {side: self.consultation(side) for side in ("own", "other")}
        for side in ("own", "other"):
            self.ids[side].update({"association": self.assoc[side], "membership": self.member[side],
                                   "council": self.council[side], "meeting": self.meetings[side],
                                   "programme": self.programme[side], "qual": self.qual[side],
                                   "practice": self.practices[side], "help": self.helps[side],
                                   "consultation": self.consultations[side], "decision": self.decisions[side]})

    # ---- the mentoring service ----

    def mnt_programme(self, side):
        return self.created(self.admin("POST", "/api/v1/support-programmes", {
            "kind": "mentoring", "level": "municipal", "municipalityId": self.mun[side],
            "title": f"Программа наставничества {next(_seq)}", "startsOn": "2025-09-01"}), "программа поддержки")["id"]

    def mnt_pair(self, side, mentor=None, active=False):
        mentor = mentor or self.staff(self.org[side], birthDate="1970-01-01")
        mentee = self.staff(self.org[side], birthDate="2000-01-01", professionStartDate="2023-09-01")
        pair = self.created(self.admin("POST", "/api/v1/mentoring-pairs", {
            "programmeId": self.mnt_prog[side], "form": "young_specialist", "mentorStaffId": mentor,
            "menteeStaffId": mentee, "startsOn": "2025-09-01"}), "пара наставничества")["id"]
        if active:
            self.created(self.admin("POST", f"/api/v1/mentoring-pairs/{pair}/activate", {}), "начало пары")
        return pair

    def build_mentoring(self):
        self.mnt_prog = {side: self.mnt_programme(side) for side in ("own", "other")}
        self.mnt_mentor = {"own": self.teacher_staff, "other": self.other_staff}
        for side in ("own", "other"):
            self.created(self.admin("POST", "/api/v1/mentors", {"staffId": self.mnt_mentor[side], "maxMentees": 10}),
                         "профиль наставника")
        self.mnt_pairs = {side: self.mnt_pair(side, self.mnt_mentor[side]) for side in ("own", "other")}

    def mentoring_request(self, route, role, side):
        """(method, path, body, token, listed, raw) of a mentoring cell of MATRIX."""
        method, template = route.split(" ", 1)
        token = self.tokens[role]
        body = listed = None
        obj = None
        own_mentor = self.teacher_staff if (side == "own" and role == "teacher") else None
        if route == "POST /api/v1/support-programmes":
            body = {"kind": "young_support", "level": "municipal", "municipalityId": self.mun[side],
                    "title": f"Школа молодого педагога {next(_seq)}", "startsOn": "2025-09-01"}
        elif route in ("GET /api/v1/support-programmes", "GET /api/v1/export/support-programmes"):
            listed = self.mnt_prog[side] if "export" not in route else "\r\n" + self.mnt_prog[side] + ";"
            template += "?limit=500"
        elif route.startswith("PATCH /api/v1/support-programmes"):
            obj, body = self.mnt_prog[side], {"description": f"Изменено {next(_seq)}"}
        elif route.startswith("GET /api/v1/support-programmes/") or route.startswith("DELETE"):
            obj = self.mnt_prog[side]
        elif route == "POST /api/v1/mentors":
            body = {"staffId": self.staff(self.org[side]), "maxMentees": 2}
        elif route in ("GET /api/v1/mentors", "GET /api/v1/export/mentors"):
            mentor_id = "07-m" + self.mnt_mentor[side].split("-s")[1]
            listed = mentor_id if "export" not in route else "\r\n" + mentor_id + ";"
            template += "?limit=500"
        elif route.startswith("GET /api/v1/mentors/") or route.startswith("PATCH /api/v1/mentors/"):
            template = template.replace("{staff_id}", self.mnt_mentor[side])
            if method == "PATCH":
                body = {"availabilityNote": f"Изменено {next(_seq)}"}
        elif route == "POST /api/v1/mentoring-pairs":
            body = {"programmeId": self.mnt_prog[side], "form": "peer", "startsOn": "2025-09-01",
                    "mentorStaffId": self.staff(self.org[side], birthDate="1970-01-01"),
                    "menteeStaffId": self.staff(self.org[side], birthDate="2000-01-01", professionStartDate="2023-09-01")}
        elif route in ("GET /api/v1/mentoring-pairs", "GET /api/v1/export/mentoring-pairs"):
            listed = self.mnt_pairs[side] if "export" not in route else "\r\n" + self.mnt_pairs[side] + ";"
            template += "?limit=500"
        elif route == "GET /api/v1/mentoring/matches":
            template += "?menteeId=" + self.staff(self.org[side], birthDate="2000-01-01",
                                                  professionStartDate="2023-09-01")
        elif route == "POST /api/v1/mentoring/assignments":
            body = {"programmeId": self.mnt_prog[side], "dryRun": True,
                    "menteeIds": [self.staff(self.org[side], birthDate="2000-01-01", professionStartDate="2023-09-01")]}
        elif route == "GET /api/v1/staff/{staff_id}/mentoring":
            template = template.replace("{staff_id}", self.mnt_mentor[side]) + "?limit=500"
            listed = self.mnt_pairs[side]
        elif route in ("GET /api/v1/mentoring-pairs/{id}", "PATCH /api/v1/mentoring-pairs/{id}"):
            obj = self.mnt_pairs[side]
            if method == "PATCH":
                body = {"plannedEndOn": f"2099-06-{next(_seq) % 28 + 1:02d}"}
        else:
            action = route.rsplit("/", 1)[1]
            obj = self.mnt_pair(side, own_mentor, active=action in ("complete", "meetings"))
            body = {"activate": {}, "cancel": {"reason": "Проверка прав"},
                    "complete": {"outcome": {"result": "Дефицит закрыт"}},
                    "meetings": {"meeting": {"heldOn": "2025-10-01", "topic": "Анализ урока",
                                             "durationMinutes": 45}}}[action]
        if obj is not None:
            template = template.replace("{id}", urllib.parse.quote(obj))
        return method, template, body, token, listed, None

    def build_cases(self):
        """The objects of CASES."""
        me = self.must(self.admin("GET", "/api/v1/me"), 200, "администратор региона")
        self.admin_user = me["id"]
        self.peer_methodologist = self.user("municipal_methodologist", "municipality", self.mun["own"])[0]
        self.mun_key = self.municipality_key()
        self.neighbour_org = self.must(self.admin("POST", "/api/v1/organizations", {
            "municipalityId": self.mun["own"], "name": "Гимназия района А", "shortName": "Гимназия",
            "kind": "school"}), 201, "соседняя школа")["id"]
        self.neighbour = self.staff(self.neighbour_org, lastName="Соседова")
        self.neighbour_member = self.membership("own", self.neighbour)
        self.probe_xid = f"{next(_seq):03d}-{os.urandom(3).hex()}-Б"
        self.probe_holder = self.staff(self.org["other"], lastName="Занятова", externalId=self.probe_xid)
        self.own_xid = f"{next(_seq):03d}-{os.urandom(3).hex()}-А"
        self.own_holder = self.staff(self.org["own"], lastName="Своя", externalId=self.own_xid)

    def municipality_key(self):
        r = self.must(self.admin("POST", "/api/v1/api-keys", {"name": f"Район {next(_seq)}",
                                                              "scope": {"kind": "municipality", "id": self.mun["own"]}}),
                      201, "API-ключ района")
        self.secrets.append(r["secret"])
        return r["key"]["id"]

    def case_request(self, route, role, case):
        """(method, path, body, token, id expected in a list or None, raw CSV) of a CASES cell."""
        method, template = route.split(" ", 1)
        token = self.tokens[role]
        body = listed = raw = obj = None
        missing = {"users": "u999999", "api-keys": "k999999", "staff": "07-s999999", "associations": "07-a999999",
                   "memberships": "07-j999999"}
        if route.startswith("GET /api/v1/users") and case == "above":
            obj, listed = self.peer_methodologist, self.peer_methodologist
        elif route.startswith("POST /api/v1/users/") and case == "above":
            obj = self.user("municipal_methodologist", "municipality", self.mun["own"])[0]
        elif route.startswith("POST /api/v1/users/") and case == "admin":
            obj = self.admin_user
        elif route == "GET /api/v1/users/{id}" and case == "admin":
            obj = self.admin_user
        elif route == "DELETE /api/v1/api-keys/{id}" and case == "above":
            obj = self.municipality_key()
        elif route == "GET /api/v1/api-keys":
            listed = self.mun_key
        elif route == "GET /api/v1/staff/{staff_id}/memberships":
            staff = self.neighbour if case == "neighbour" else missing["staff"]
            template = template.replace("{staff_id}", staff) + "?limit=500"
            listed = self.neighbour_member
        elif route == "GET /api/v1/associations/{association_id}/members":
            assoc = self.assoc["own"] if case == "neighbour" else missing["associations"]
            template = template.replace("{association_id}", assoc) + "?limit=500"
            listed = self.neighbour_member
        elif route == "GET /api/v1/memberships/{id}":
            obj = self.neighbour_member if case == "neighbour" else missing["memberships"]
        elif route.endswith("/leave"):
            member = self.membership("own", self.staff(self.neighbour_org)) if case == "neighbour" \
                else missing["memberships"]
            template = template.replace("{association_id}", self.assoc["own"]).replace("{membership_id}", member)
            body = {"leftOn": "2025-06-01"}
        elif route == "GET /api/v1/export/memberships":
            template += "?associationId=" + (self.assoc["own"] if case == "neighbour" else missing["associations"])
            listed = "\r\n" + self.neighbour_member + ";"
        elif route == "POST /api/v1/import/staff":
            template += "?regionId=07&dryRun=true"
            raw = ("externalId;lastName;firstName;birthDate;position;category;organizationExternalId\r\n"
                   f"{self.probe_xid};Импортова;Анна;1990-01-02;teacher;teacher;{self.org['own']}\r\n")
        if route == "POST /api/v1/users/{id}/status":
            body = {"disabled": True}
        elif route == "POST /api/v1/users/{id}/password":
            body = {"password": new_password()}
            self.secrets.append(body["password"])
        if "{id}" in template:
            if obj is None:
                obj = missing[template.split("/")[3]]
            template = template.replace("{id}", urllib.parse.quote(obj))
        return method, template, body, token, listed, raw

    INSTRUMENT = {
        "title": "Диагностика для проверки прав", "category": "teacher",
        "items": [
            {"id": "q1", "competence": "t.method.1", "kind": "single_choice", "text": "С чего начинается урок?",
             "options": [{"id": "a", "text": "С проверки домашнего задания", "points": 0},
                         {"id": "b", "text": "С мотивации", "points": 2}]},
            {"id": "q2", "competence": "t.digital.1", "kind": "scale", "text": "Уверенность в ФГИС",
             "scaleMin": 1, "scaleMax": 5}]}
    ANSWERS = [{"itemId": "q1", "optionIds": ["a"]}, {"itemId": "q2", "value": 1}]

    def campaign(self, orgs, token=True, open_it=False, instrument=None, kind="self"):
        c = self.created(self.admin("POST", "/api/v1/diagnostics/campaigns", {
            "title": f"Кампания {next(_seq)}", "instrumentId": instrument or self.instrument["own"], "kind": kind,
            "startsOn": time.strftime("%Y-%m-%d"), "endsOn": "2099-12-31",
            "target": {"organizationIds": orgs, "categories": ["teacher"]}}, token=token), "кампания")["id"]
        if open_it:
            self.created(self.admin("POST", f"/api/v1/diagnostics/campaigns/{c}/open", token=token), "открытие")
        return c

    def take(self, campaign, staff, submit=True):
        a = self.created(self.admin("POST", "/api/v1/diagnostics/attempts", {"campaignId": campaign, "staffId": staff}),
                         "попытка")["id"]
        if submit:
            self.created(self.admin("POST", f"/api/v1/diagnostics/attempts/{a}/submit", {"answers": self.ANSWERS}),
                         "сдача")
        return a

    def route(self, staff, approve):
        r = self.created(self.admin("POST", f"/api/v1/staff/{staff}/route", {"startsOn": "2026-09-01"}), "маршрут")
        if approve:
            r = self.created(self.admin("POST", f"/api/v1/staff/{staff}/route/approve"), "утверждение маршрута")
        return r

    ROUTE_ROWS = ("POST /api/v1/staff/{id}/route", "PATCH /api/v1/staff/{id}/route",
                  "POST /api/v1/staff/{id}/route/approve", "POST /api/v1/staff/{id}/route/items/{item_id}/status",
                  "POST /api/v1/staff/{id}/route/propose")

    def build_diagnostics(self):
        # a school with one teacher: the target of the campaigns opened and closed by the matrix
        self.empty_org = self.must(self.admin("POST", "/api/v1/organizations", {
            "municipalityId": self.mun["own"], "name": "Малокомплектная школа", "shortName": "Малая",
            "kind": "school"}), 201, "малая школа")["id"]
        self.empty_org08 = self.must(self.admin("POST", "/api/v1/organizations", {
            "municipalityId": self.mun08, "name": "Малокомплектная школа 08", "shortName": "Малая 08",
            "kind": "school"}, token=self.admin08), 201, "малая школа 08")["id"]
        self.staff(self.empty_org, lastName="Единственная")
        self.staff(self.empty_org08, token=self.admin08, lastName="Единственная")
        # one person per route-changing cell (a route changes state), besides the teacher's own
        self.route_pool = {}
        for row in self.ROUTE_ROWS:
            for side in ("own", "other"):
                for role in ROLES:
                    if not (role == "teacher" and side == "own"):
                        self.route_pool[(row, side, role)] = self.staff(self.org[side], lastName="Маршрутова")
        self.instrument = {
            "own": self.created(self.admin("POST", "/api/v1/instruments", self.INSTRUMENT), "инструмент")["id"],
            "other": self.created(self.admin("POST", "/api/v1/instruments", self.INSTRUMENT, token=self.admin08),
                                  "инструмент 08")["id"]}
        orgs = [self.org["own"], self.org["other"]]
        self.camp = {"own": self.campaign(orgs, open_it=True),
                     "other": self.campaign([self.empty_org08], token=self.admin08, instrument=self.instrument["other"])}
        self.saving = self.campaign(orgs, open_it=True)
        # independent diagnostics, for the import of an external centre's results (other = region 08)
        self.independent = {"own": self.campaign(orgs, open_it=True, kind="independent"),
                            "other": self.campaign([self.empty_org08], token=self.admin08, open_it=True,
                                                   instrument=self.instrument["other"], kind="independent")}
        self.attempt = {side: self.take(self.camp["own"], self.person[side]) for side in ("own", "other")}
        self.open_attempt = {side: self.take(self.saving, self.person[side], submit=False) for side in ("own", "other")}
        self.route_of = {}
        for (row, side, role), staff in self.route_pool.items():
            self.take(self.camp["own"], staff)
            if row != "POST /api/v1/staff/{id}/route":
                self.route_of[staff] = self.route(staff, approve=row.endswith("/status"))
        self.route_of[self.teacher_staff] = self.route(self.teacher_staff, approve=True)
        self.route_of[self.other_staff] = self.route(self.other_staff, approve=False)
        for side in ("own", "other"):
            self.ids[side].update({"framework": ("07" if side == "own" else "08") + "-teacher",
                                   "instrument": self.instrument[side], "campaign": self.camp[side],
                                   "attempt": self.attempt[side], "result": self.attempt[side]})

    # ---- the events service ----

    EVENT_TIMES = {"future": (10, 10.125), "started": (-1 / 24, 1)}

    def event_plan(self, side, approve):
        p = self.created(self.admin("POST", "/api/v1/event-plans", {
            "level": "municipal", "municipalityId": self.mun[side], "year": 2026,
            "title": f"План мероприятий {next(_seq)}"}), "план мероприятий")["id"]
        if approve:
            self.created(self.admin("POST", f"/api/v1/event-plans/{p}/approve",
                                    {"orderNumber": "12-о", "orderDate": "2025-08-29"}), "утверждение плана")
        return p

    def event_body(self, side, when="future", **over):
        now = time.time()
        start, end = self.EVENT_TIMES[when]
        body = {"type": "seminar", "level": "municipal", "municipalityId": self.mun[side],
                "title": f"Семинар {next(_seq)}", "venue": "Актовый зал",
                "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + start * 86400)),
                "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + end * 86400))}
        body.update(over)
        return body

    def event(self, side, publish=True, when="future", **over):
        e = self.created(self.admin("POST", "/api/v1/events", self.event_body(side, when, **over)), "мероприятие")["id"]
        if publish:
            self.created(self.admin("POST", f"/api/v1/events/{e}/publish", {}), "публикация")
        return e

    def registration(self, event, staff):
        return self.created(self.admin("POST", f"/api/v1/events/{event}/registrations", {"staffId": staff}),
                            "запись на мероприятие")["id"]

    def build_events(self):
        self.plan = {side: self.event_plan(side, approve=True) for side in ("own", "other")}
        self.ev = {side: self.event(side, planId=self.plan[side]) for side in ("own", "other")}
        self.reg = {side: self.registration(self.ev[side], self.person[side]) for side in ("own", "other")}
        self.reg_event = {side: self.event(side) for side in ("own", "other")}
        self.cancel_event = {side: self.event(side) for side in ("own", "other")}
        self.attendance_event = {side: self.event(side, when="started") for side in ("own", "other")}
        self.attendance_reg = {side: self.registration(self.attendance_event[side], self.person[side])
                               for side in ("own", "other")}
        for side in ("own", "other"):
            self.ids[side].update({"event-plans": self.plan[side], "events": self.ev[side],
                                   "registrations": self.reg[side]})

    def events_request(self, route, role, side):
        """(method, path, body, token, id expected in a list or None, raw) of an events cell."""
        method, template = route.split(" ", 1)
        ids = self.ids[side]
        token = self.tokens[role]
        body = listed = obj = None
        kind = template.split("/")[3]
        if route == "POST /api/v1/event-plans":
            body = {"level": "municipal", "municipalityId": self.mun[side], "year": 2027, "title": "Новый план"}
        elif route == "POST /api/v1/events":
            body = self.event_body(side)
        elif route == "PATCH /api/v1/event-plans/{id}":
            body = {"title": f"План, ред. {next(_seq)}", "changeReason": "Перенос сроков"}
        elif route == "PATCH /api/v1/events/{id}":
            body = {"title": f"Семинар, ред. {next(_seq)}"}
        elif route == "POST /api/v1/event-plans/{id}/approve":
            obj = self.event_plan(side, approve=False)
            body = {"orderNumber": "77-о", "orderDate": "2025-09-01"}
        elif route == "POST /api/v1/events/{id}/publish":
            obj, body = self.event(side, publish=False), {}
        elif route == "POST /api/v1/events/{id}/cancel":
            obj, body = self.event(side), {"reason": "Перенос по приказу"}
        elif route == "POST /api/v1/events/{id}/finish":
            obj, body = self.event(side, when="started"), {}
        elif route == "POST /api/v1/events/{id}/registrations":
            obj = self.reg_event[side]
            body = {} if role == "teacher" else {"staffId": self.staff(self.org[side], lastName="Участникова")}
        elif route == "POST /api/v1/events/{id}/attendance":
            obj = self.attendance_event[side]
            body = {"marks": [{"registrationId": self.attendance_reg[side], "attended": True}]}
        elif route == "POST /api/v1/registrations/{id}/cancel":
            staff = self.person[side] if role == "teacher" and side == "own" else self.staff(self.org[side])
            obj, body = self.registration(self.cancel_event[side], staff), {}
            if role == "teacher" and side == "own":
                self.cancel_event[side] = self.event(side)  # the teacher registers once per event
        elif route in ("GET /api/v1/events/{event_id}/registrations",
                       "GET /api/v1/events/{event_id}/registrations.csv"):
            template = template.replace("{event_id}", self.ev[side]) + "?limit=500"
            listed = ids["registrations"]
            if route.endswith(".csv"):
                template = template.replace("?limit=500", "")
                listed = "\r\n" + listed + ";"
        elif route == "GET /api/v1/staff/{staff_id}/registrations":
            template = template.replace("{staff_id}", ids["staff"]) + "?limit=500"
            listed = ids["registrations"]
        elif route in ("GET /api/v1/export/event-plans", "GET /api/v1/export/events"):
            template += "?regionId=07"
            listed = "\r\n" + ids[route.split("/")[-1]] + ";"
        elif method == "GET" and template in ("/api/v1/event-plans", "/api/v1/events"):
            template += "?limit=500"
            listed = ids[kind]
        if "{id}" in template:
            template = template.replace("{id}", urllib.parse.quote(obj or ids[kind]))
        return method, template, body, token, listed, None

    # ---- the monitoring service ----

    def mon_campaign(self, side, state="open"):
        """A campaign of the side's municipality (template school-heads), in state draft, open or closed."""
        c = self.created(self.admin("POST", "/api/v1/monitoring/campaigns", {
            "municipalityId": self.mun[side], "title": f"Мониторинг {next(_seq)}", "period": "2025/26",
            "deadline": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400)),
            "template": "school-heads"}), "кампания мониторинга")
        if state != "draft":
            c = self.created(self.admin("POST", f"/api/v1/monitoring/campaigns/{c['id']}/open", {}), "открытие")
            self.mon_fields = c["fields"]
        if state == "closed":
            self.created(self.admin("POST", f"/api/v1/monitoring/campaigns/{c['id']}/close", {}), "закрытие")
        return c["id"]

    def mon_values(self):
        return [{"code": f["code"], "value": "2", "evidence": "Приказ № 1"} for f in self.mon_fields]

    def mon_submitted(self, side):
        """An open campaign with the side's school's report submitted (by that school's administrator)."""
        c = self.mon_campaign(side)
        self.created(self.stack.request("POST", f"/api/v1/monitoring/campaigns/{c}/reports/{self.org[side]}/submit",
                                        {"values": self.mon_values()}, token=self.mon_school[side]), "отправка отчёта")
        return c

    def build_monitoring(self):
        self.mon_school = {"own": self.tokens["school_admin"],
                           "other": self.login(*self.user_logins[self.ids["other"]["user"]])}
        self.mon = {side: self.mon_campaign(side) for side in ("own", "other")}
        self.mon_closed = {side: self.mon_campaign(side, "closed") for side in ("own", "other")}

    def monitoring_request(self, route, role, side):
        """(method, path, body, token, id expected in a list or None, raw) of a monitoring cell."""
        method, template = route.split(" ", 1)
        token = self.tokens[role]
        body = listed = None
        camp = self.mon[side]
        if route == "POST /api/v1/monitoring/campaigns":
            body = {"municipalityId": self.mun[side], "title": "Новый мониторинг", "period": "2026",
                    "deadline": "2030-05-31T23:59:59Z", "template": "methodical-work"}
        elif route == "GET /api/v1/monitoring/campaigns":
            template += "?limit=500"
            listed = camp
        elif route == "PATCH /api/v1/monitoring/campaigns/{id}":
            camp, body = self.mon_campaign(side, "draft"), {"title": f"Мониторинг, ред. {next(_seq)}"}
        elif route == "POST /api/v1/monitoring/campaigns/{id}/open":
            camp, body = self.mon_campaign(side, "draft"), {}
        elif route == "POST /api/v1/monitoring/campaigns/{id}/close":
            camp, body = self.mon_campaign(side), {}
        elif route == "POST /api/v1/monitoring/campaigns/{id}/reopen":
            camp, body = self.mon_campaign(side, "closed"), {}
        elif route.startswith("GET /api/v1/monitoring/campaigns/{id}/snapshots"):
            camp = self.mon_closed[side]
            template = template.replace("{version}", "1")
        elif route == "PUT /api/v1/monitoring/campaigns/{campaign_id}/reports/{organization_id}":
            body = {"values": self.mon_values()[:1]}
        elif route.endswith("/submit"):
            camp, body = self.mon_campaign(side), {"values": self.mon_values()}
        elif route.endswith("/approve") or route.endswith("/return"):
            camp, body = self.mon_submitted(side), {"comment": "Уточните подтверждения"}
        template = (template.replace("{id}", camp).replace("{campaign_id}", camp)
                    .replace("{organization_id}", self.org[side]))
        return method, template, body, token, listed, None

    def csv(self, route, side):
        n = next(_seq)
        if route.endswith("organizations"):
            return ("externalId;municipalityId;name;kind\r\n"
                    f"ORG-{n}-{os.urandom(2).hex()};{self.mun[side]};Импортированная школа {n};school\r\n")
        return ("externalId;lastName;firstName;birthDate;position;category;organizationExternalId\r\n"
                f"{n:03d}-{os.urandom(2).hex()};Импортова;Анна;1990-01-02;teacher;teacher;{self.org[side]}\r\n")

    # ---- the request of one matrix cell ----

    def fresh_token(self, role):
        """A new session (or API key) of the role's caller, for logout."""
        if role == "region_admin":
            return self.login(self.stack.admin_login, self.stack.admin_password)
        if role == "school_system":
            return self.api_key(self.org["own"])[1]
        if role == "anonymous":
            return None
        return self.login(*self.role_users[role])

    # ---- the indicators service ----

    def build_indicators(self):
        """Targets of 100 % for I6, I7, I9 (nobody counted: every school below them), so each municipality
        has recommendations addressed to its schools; a snapshot of each municipality."""
        for code in ("I6", "I7", "I9"):
            self.must(self.admin("PUT", f"/api/v1/indicator-targets/{code}", {"target": 100}), 200, "цель")
        self.must(self.admin("POST", "/api/v1/indicators", {
            "regionId": "07", "code": "SEC1", "name": "Педагогов на организацию", "numerator": "teachers",
            "denominator": "organizations", "unit": "number"}), 201, "собственный показатель")
        self.snapshot = {side: self.created(self.admin("POST", "/api/v1/indicator-snapshots", {
            "scopeKind": "municipality", "scopeId": self.mun[side], "period": "2026"}), "снимок")["id"]
            for side in ("own", "other")}
        self.rec = {}
        deadline = time.monotonic() + 15
        for side in ("own", "other"):
            for code in ("I6", "I7", "I9"):
                while True:
                    r = self.must(self.admin("GET", f"/api/v1/recommendations?scopeKind=municipality"
                                                    f"&scopeId={self.mun[side]}&period=2026&indicator={code}"),
                                  200, "рекомендации")
                    got = [x["id"] for x in r["items"] if x["addresseeId"] == self.org[side]]
                    if got or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                if not got:
                    raise AssertionError(f"подготовка: нет рекомендации {code} школе {self.org[side]}: {r}")
                self.rec[(side, code)] = got[0]

    def indicators_request(self, route, role, side):
        method, template = route.split(" ", 1)
        token = self.tokens[role]
        body = listed = None
        mun = self.mun[side]
        own_body = {"name": "Доля педагогов в сетевых сообществах (своя)", "numerator": "I9.num",
                    "denominator": "teachers", "unit": "share"}
        if route == "GET /api/v1/indicators":
            template += "" if side == "own" else "?regionId=08"
        elif route == "POST /api/v1/indicators":
            body = dict(own_body, code=f"S{os.urandom(4).hex()}", regionId="07" if side == "own" else "08")
        elif route in ("PUT /api/v1/indicators/{code}", "DELETE /api/v1/indicators/{code}"):
            code = "SEC1"
            if method == "DELETE" and side == "own" and role == "region_admin":
                code = f"D{os.urandom(4).hex()}"  # a fresh one for the deletion that succeeds
                self.must(self.admin("POST", "/api/v1/indicators", dict(own_body, code=code, regionId="07")), 201,
                          "собственный показатель")
            template = template.replace("{code}", code)
            if method == "DELETE":
                template += "" if side == "own" else "?regionId=08"
            else:
                body = dict(own_body, regionId="07" if side == "own" else "08")
        elif route == "GET /api/v1/reports/yearly":
            template += f"?scopeKind=municipality&scopeId={mun}&year=2026&format=html"
        elif route == "POST /api/v1/indicators/recompute":
            body = {"regionId": "07" if side == "own" else "08", "check": True}
        elif route == "GET /api/v1/indicator-values":
            template += f"?scopeKind=municipality&scopeId={mun}&period=2026&by=organization"
        elif route.startswith("PUT /api/v1/indicator-targets"):
            template = template.replace("{indicator}", "I1")
            body = {"target": 50} if side == "own" else {"target": 50, "regionId": "08"}
        elif route == "POST /api/v1/indicator-snapshots":
            body = {"scopeKind": "municipality", "scopeId": mun, "period": "2026"}
        elif route == "GET /api/v1/indicator-snapshots":
            template += "?limit=500"
            listed = self.snapshot[side]
        elif route == "GET /api/v1/indicator-snapshots/{id}":
            template = template.replace("{id}", self.snapshot[side])
        elif route == "GET /api/v1/recommendations":
            template += f"?scopeKind=municipality&scopeId={mun}&period=2026&indicator=I9"
            listed = self.rec[(side, "I9")]
        elif route == "POST /api/v1/recommendations/{id}/status":
            code = {"region_admin": "I9", "municipal_methodologist": "I6", "school_admin": "I7"}.get(role, "I6")
            if side == "other" and role != "region_admin":
                code = "I6"
            template = template.replace("{id}", self.rec[(side, code)])
            body = {"status": "accepted"}
        return method, template, body, token, listed, None

    def cell_request(self, route, role, side):
        """(method, path, body, token, id expected in a list or None)."""
        if "/indicator" in route or "/recommendations" in route or "/reports/yearly" in route:
            return self.indicators_request(route, role, side)
        if "/monitoring/" in route:
            return self.monitoring_request(route, role, side)
        if any(p in route for p in ("/event-plans", "/events", "/registrations")):
            return self.events_request(route, role, side)
        method, template = route.split(" ", 1)
        ids = self.ids[side]
        token = self.tokens[role]
        body = None
        listed = None
        kind = template.split("/")[3] if template.startswith("/api/v1/") else ""
        obj = None
        raw = None
        if is_mentoring_route(route):
            return self.mentoring_request(route, role, side)
        if route == "POST /api/v1/auth/login":
            login, password = ids["login"]
            body = {"login": login, "password": password}
        elif route == "POST /api/v1/auth/logout":
            token = self.fresh_token(role)
        elif route == "POST /api/v1/users":
            staff = self.staff(self.org[side])
            password = new_password()
            self.secrets.append(password)
            body = {"login": f"n{next(_seq)}-{os.urandom(3).hex()}", "password": password, "fullName": "Новый Учитель",
                    "role": "teacher", "scope": {"kind": "self", "id": staff}, "staffId": staff}
        elif route in ("POST /api/v1/users/{id}/status", "POST /api/v1/users/{id}/password"):
            staff = self.staff(self.org[side])
            obj, _, _ = self.user("teacher", "self", staff, staff_id=staff)
            if route.endswith("status"):
                body = {"disabled": True}
            else:
                body = {"password": new_password()}
                self.secrets.append(body["password"])
        elif route == "POST /api/v1/api-keys":
            body = {"name": f"Система {next(_seq)}", "scope": {"kind": "organization", "id": self.org[side]}}
        elif route == "DELETE /api/v1/api-keys/{id}":
            obj = self.api_key(self.org[side])[0]
        elif route == "POST /api/v1/webhooks":
            body = {"url": self.HOOK_URL, "municipalityId": self.mun[side]}
            if side == "other":
                body["organizationId"] = self.org["other"]
        elif route in ("DELETE /api/v1/webhooks/{id}", "POST /api/v1/webhooks/{id}/disable"):
            obj = self.webhook(side)  # a subscription of its own: the others' rows keep theirs enabled
        elif route == "GET /api/v1/webhooks":
            template += "?limit=500"
            listed = ids["webhook"]
        elif route == "POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/retry":
            template = template.replace("{delivery_id}", ids["delivery"])
        elif route in ("GET /api/v1/notifications", "GET /api/v1/notifications/stream"):
            template += "?limit=500" if route.endswith("notifications") else "?after=0-0"
            listed = ids["notification"]
        elif route == "GET /api/v1/audit":
            template = f"/api/v1/audit?objectId={ids['staff']}&limit=10"
        elif route == "POST /api/v1/regions":
            body = {"id": ids["region"], "name": "Регион для проверки"}
        elif route == "POST /api/v1/municipalities":
            body = {"regionId": "07" if side == "own" else "08", "name": f"Новый район {next(_seq)}", "kind": "district"}
        elif route == "POST /api/v1/organizations":
            body = {"municipalityId": self.mun[side], "name": f"Новая школа {next(_seq)}", "shortName": "Новая",
                    "kind": "school"}
        elif route == "POST /api/v1/staff":
            body = staff_body(self.org[side])
        elif route == "DELETE /api/v1/staff/{id}":
            obj = self.teacher_staff if (side == "own" and role == "teacher") else self.staff(self.org[side])
        elif route in ("POST /api/v1/staff/{id}/route/agree", "POST /api/v1/staff/{id}/route/items/{item_id}/confirm",
                       "GET /api/v1/staff/{id}/route/versions"):
            obj = ids["staff"]
            if route.endswith("/confirm"):
                template = template.replace("{item_id}", self.route_of[obj]["items"][0]["id"])
            body = None if method == "GET" else {}
        elif route == "POST /api/v1/diagnostics/campaigns/{campaign_id}/nominations":
            template = template.replace("{campaign_id}", self.camp[side])
            body = {"staffIds": [self.person["own"] if side == "own" else self.staff08]}
        elif route in ("GET /api/v1/diagnostics/deficits", "GET /api/v1/export/deficits"):
            template += f"?campaignId={self.camp[side]}"
        elif route in self.ROUTE_ROWS or route == "GET /api/v1/staff/{id}/route":
            staff = ids["staff"] if route.startswith("GET") or (role == "teacher" and side == "own") \
                else self.route_pool[(route, side, role)]
            obj = staff
            if route == "POST /api/v1/staff/{id}/route":
                body = {"startsOn": "2026-09-01"}
            elif route == "PATCH /api/v1/staff/{id}/route":
                body = {"items": self.route_of[staff]["items"][:1]}
            elif route.endswith("/status"):
                template = template.replace("{item_id}", self.route_of[staff]["items"][0]["id"])
                body = {"status": "in_progress"}
        elif route == "GET /api/v1/staff/{id}/competence-profile":
            obj = ids["staff"]
        elif route in ("GET /api/v1/staff/{staff_id}/memberships", "GET /api/v1/staff/{staff_id}/qualification-records"):
            template = template.replace("{staff_id}", ids["staff"]) + "?limit=500"
            listed = ids["membership" if "memberships" in route else "qual"]
        elif route == "POST /api/v1/associations":
            body = {"name": f"Новое РМО {next(_seq)}", "kind": "methodological_association", "level": "municipal",
                    "municipalityId": self.mun[side], "subject": "mathematics"}
        elif route == "POST /api/v1/associations/{association_id}/members":
            template = template.replace("{association_id}", self.assoc[side])
            body = {"staffId": self.staff(self.org[side]), "joinedOn": "2024-09-01"}
        elif route == "GET /api/v1/associations/{association_id}/members":
            template = template.replace("{association_id}", self.assoc[side]) + "?limit=500"
            listed = ids["membership"]
        elif route == "POST /api/v1/associations/{association_id}/members/{membership_id}/leave":
            template = template.replace("{association_id}", self.assoc[side]).replace(
                "{membership_id}", self.membership(side))
            body = {"leftOn": "2025-06-01"}
        elif route == "POST /api/v1/councils":
            body = {"name": f"Новый совет {next(_seq)}", "level": "institutional", "organizationId": self.org[side],
                    "chairStaffId": self.person[side]}
        elif route == "POST /api/v1/councils/{council_id}/meetings":
            template = template.replace("{council_id}", self.council[side])
            body = {"heldOn": "2024-11-20", "agenda": [{"title": "План работы"}]}
        elif route == "GET /api/v1/councils/{council_id}/meetings":
            template = template.replace("{council_id}", self.council[side]) + "?limit=500"
            listed = ids["meeting"]
        elif route == "DELETE /api/v1/council-meetings/{id}":
            obj = self.meeting(side)
        elif route == "POST /api/v1/programmes":
            body = {"regionId": "07" if side == "own" else "08", "title": f"Новая программа {next(_seq)}",
                    "provider": "ЦНППМ", "hours": 72, "format": "distance"}
        elif route == "POST /api/v1/qualification-records":
            body = {"staffId": self.person[side], "programmeTitle": "Цифровая школа", "hours": 24,
                    "completedOn": "2024-05-20"}
        elif route == "DELETE /api/v1/qualification-records/{id}":
            obj = self.qualification(side)
        elif route == "POST /api/v1/practices":
            body = {"title": f"Новая практика {next(_seq)}", "authorStaffId": self.person[side],
                    "description": "Описание практики"}
        elif route in ("DELETE /api/v1/practices/{id}", "POST /api/v1/practices/{id}/review"):
            obj = self.practice(side)
            if route.endswith("review"):
                body = {"action": "start"}
        elif route == "POST /api/v1/help-requests":
            body = {"staffId": self.person[side], "topic": f"Новый запрос {next(_seq)}", "urgency": "high"}
        elif route in ("DELETE /api/v1/help-requests/{id}", "POST /api/v1/help-requests/{id}/status"):
            obj = self.help_request(side)
            if route.endswith("status"):
                body = {"action": "answer", "kind": "other", "note": "Рекомендована литература"}
        elif route == "POST /api/v1/council-decisions":
            body = self.decision_body(side)
        elif route == "DELETE /api/v1/council-decisions/{id}":
            obj = self.decision(side)
        elif route == "POST /api/v1/consultations":
            body = self.consultation_body(side)
        elif route == "DELETE /api/v1/consultations/{id}":
            obj = self.consultation(side)
        elif route == "POST /api/v1/instruments":
            body = dict(self.INSTRUMENT, regionId="07" if side == "own" else "08")
        elif route == "POST /api/v1/diagnostics/campaigns":
            body = {"title": f"Новая кампания {next(_seq)}", "regionId": "07" if side == "own" else "08",
                    "instrumentId": self.instrument[side], "kind": "self", "startsOn": time.strftime("%Y-%m-%d"),
                    "endsOn": "2099-12-31", "target": {"organizationIds": [self.empty_org if side == "own"
                                                                          else self.empty_org08]}}
        elif route in ("POST /api/v1/diagnostics/campaigns/{id}/open", "POST /api/v1/diagnostics/campaigns/{id}/close"):
            closing = route.endswith("close")
            obj = self.campaign([self.empty_org], open_it=closing) if side == "own" else \
                self.campaign([self.empty_org08], token=self.admin08, open_it=closing, instrument=self.instrument["other"])
        elif route == "POST /api/v1/diagnostics/attempts":
            body = {"campaignId": self.camp["own"], "staffId": self.person[side]}
        elif route == "GET /api/v1/diagnostics/attempts":
            template += f"?campaignId={self.camp['own']}&limit=500"
            listed = ids["attempt"]
        elif route == "GET /api/v1/diagnostics/results":
            template += f"?campaignId={self.camp['own']}&limit=500"
            listed = ids["result"]
        elif route == "PATCH /api/v1/diagnostics/attempts/{id}":
            obj = self.open_attempt[side]
            body = {"answers": self.ANSWERS}
        elif route == "POST /api/v1/diagnostics/attempts/{id}/submit":
            body = {"answers": self.ANSWERS}
        elif route == "POST /api/v1/diagnostics/results/import":
            # a person not yet in the campaign: each cell's row creates one result (C) or is refused
            person = self.staff(self.org["own"]) if side == "own" else self.staff08
            template += f"?campaignId={self.independent[side]}"
            raw = ("Код сотрудника;Дата;t.method.1;t.digital.1\r\n"
                   f"{person};{time.strftime('%Y-%m-%d')};40;85\r\n")
        elif route == "GET /api/v1/diagnostics/results/import/template.csv":
            template += f"?campaignId={self.independent[side]}"
        elif route.startswith("POST /api/v1/import/"):
            template += "?regionId=07"
            raw = self.csv(route, side)
        elif route in ("GET /api/v1/export/organizations", "GET /api/v1/export/staff"):
            # the file carries names, not ids
            template += "?regionId=07"
            listed = ("СОШ № 1 района " + ("А" if side == "own" else "Б")) if route.endswith("organizations") \
                else ("Учителева" if side == "own" else "Чужая")
        elif route.startswith("GET /api/v1/export/"):
            # one column per field, the id first: the object is listed when a row starts with its id
            what = route.split("/")[-1]
            if what == "memberships":
                template += f"?associationId={self.assoc[side]}"
            elif what == "council-meetings":
                template += f"?councilId={self.council[side]}"
            else:
                template += "?regionId=07"
            listed = "\r\n" + ids[self.KINDS[what]] + ";"
        elif method == "GET" and template in ("/api/v1/associations", "/api/v1/councils", "/api/v1/programmes",
                                              "/api/v1/qualification-records", "/api/v1/practices",
                                              "/api/v1/help-requests", "/api/v1/consultations",
                                              "/api/v1/council-decisions",
                                              "/api/v1/competences", "/api/v1/instruments",
                                              "/api/v1/diagnostics/campaigns"):
            listed = ids[self.KINDS[template.split("/")[-1]]]
            template += "" if kind == "competences" else "?limit=500"
        elif method == "GET" and template in ("/api/v1/users", "/api/v1/api-keys", "/api/v1/regions",
                                              "/api/v1/municipalities", "/api/v1/organizations", "/api/v1/staff"):
            what = {"users": "user", "api-keys": "apikey", "regions": "region", "municipalities": "municipality",
                    "organizations": "organization", "staff": "staff"}[kind]
            listed = ids[what]
            region = "08" if what == "region" else "07"
            template += "?limit=500" + ("" if what in ("user", "apikey", "region") else f"&regionId={region}")
        elif method == "PATCH":
            if kind == "staff":
                body = {"subjects": ["mathematics", "physics"]}
            elif kind == "organizations":
                body = {"shortName": "Изменено"}
            elif kind in ("programmes", "practices", "competences", "instruments", "diagnostics"):
                body = {"title": f"Переименовано {next(_seq)}"}
            elif kind in ("help-requests", "consultations"):
                body = {"topic": f"Уточнено {next(_seq)}"}
            elif kind == "council-decisions":
                body = {"text": f"Уточнено {next(_seq)}"}
            elif kind == "council-meetings":
                body = {"decisions": f"Решение {next(_seq)}"}
            else:
                body = {"name": f"Переименовано {next(_seq)}"}
        if "{id}" in template:
            if obj is None:
                name = template.split("/")[4] if kind == "diagnostics" else kind
                obj = ids[self.KINDS[name]]
            template = template.replace("{id}", urllib.parse.quote(obj))
        return method, template, body, token, listed, raw

    KINDS = {"users": "user", "api-keys": "apikey", "regions": "region", "municipalities": "municipality",
             "organizations": "organization", "staff": "staff", "associations": "association",
             "memberships": "membership", "councils": "council", "council-meetings": "meeting",
             "programmes": "programme", "qualification-records": "qual", "practices": "practice",
             "help-requests": "help", "consultations": "consultation", "council-decisions": "decision", "competences": "framework", "instruments": "instrument", "campaigns": "campaign",
             "attempts": "attempt", "results": "result", "webhooks": "webhook"}


def expected_cells(entry):
    own, other = entry
    out = {}
    for side, row in (("own", own), ("other", other)):
        cells = row.split()
        assert len(cells) == len(ROLES), f"строка таблицы: {len(cells)} ячеек вместо {len(ROLES)}: {row}"
        for role, cell in zip(ROLES, cells):
            out[(role, side)] = cell
    return out


class MatrixTest(StackTestCase):
    WORKERS = 2
    # each matrix caller sends requests back to back; the per-token request budget is tested elsewhere
    # a small limit of refused external-id claims, so test_external_id_probes_audited_and_limited reaches it
    EXTRA_ENV = {"METODNET_RATE_LIMIT": "0", "METODNET_CLAIM_REFUSAL_LIMIT": "3"}

    @classmethod
    def prepare(cls):
        cls.f = SecurityFixture(cls.stack)
        cls.f.build()

    def openapi_routes(self):
        r = self.stack.get("/api/v1/openapi.json", token=False)
        self.assertEqual(r.status, 200, r)
        routes = set()
        for path, item in r.json["paths"].items():
            for method in item:
                if method.lower() in ("get", "post", "put", "patch", "delete"):
                    routes.add(f"{method.upper()} {path}")
        return routes

    def test_table_covers_every_route(self):
        """A new route cannot be added without its row: this fails until MATRIX has it."""
        routes = self.openapi_routes()
        self.assertGreater(len(routes), 30)
        missing = sorted(routes - set(MATRIX))
        self.assertEqual(missing, [], "маршруты OpenAPI без строки в MATRIX (test_security.py): "
                                      + ", ".join(missing))
        stale = sorted(set(MATRIX) - routes)
        self.assertEqual(stale, [], "строки MATRIX для маршрутов, которых нет в OpenAPI: " + ", ".join(stale))

    def check_cell(self, route, label, cell, request):
        """Sends one cell's request; returns a failure line, or None when the answer is the cell's."""
        method, path, body, token, listed, raw = request
        if path.startswith("/api/v1/notifications/stream") and token:
            stream = SseStream(self.stack.http_port, token, query=path[len("/api/v1/notifications/stream"):])
            try:
                got = str(stream.status)
                if stream.status == 200:
                    ids = [e["data"]["id"] for e in stream.events(100, timeout=1.5)]
                    got = "L" if listed in ids else "H"
            finally:
                stream.close()
            if got != cell:
                return f"{route} [{label}] поток: ожидалось {cell}, получено {got}"
            return None
        r = self.stack.request(method, path, body, token=token or False, raw=raw and raw.encode("utf-8"),
                               headers={"Content-Type": "text/csv; charset=utf-8"} if raw else None)
        want = 200 if cell in ("L", "H", "C", "R", "U", "T") else int(cell)
        got = str(r.status)
        if r.status == 200 and cell in ("L", "H") and "csv" in r.header("content-type", ""):
            got = "L" if listed in r.body.decode("utf-8") else "H"
            ok = got == cell
        elif r.status == 200 and cell in ("L", "H"):
            ids = [item.get("id") for item in r.json.get("items", [])]
            got = "L" if listed in ids else "H"
            ok = got == cell
        elif r.status == 200 and cell in ("C", "R", "U", "T"):
            report = r.json
            created, updated, rejected = (report.get(k, 0) for k in ("created", "updated", "rejected"))
            messages = [e.get("message") for e in report.get("errors", [])]
            got = ("C" if (created, updated, rejected) == (1, 0, 0) else
                   "U" if (created, updated, rejected) == (0, 1, 0) else
                   "T" if (created, updated, rejected) == (0, 0, 1) and messages == [EXTERNAL_ID_TAKEN] else
                   "R" if (created, updated, rejected) == (0, 0, 1) else f"200 {report}")
            ok = got == cell or (cell == "R" and got == "T")
        else:
            ok = r.status == want
        if not ok:
            return f"{route} [{label}] {method} {path}: ожидалось {cell}, получено {got}: {r.body[:160]!r}"
        if r.status >= 400 and route not in ("GET /metrics",):
            self.assertJsonError(r, r.status)
        return None

    def test_matrix(self):
        routes = self.openapi_routes()
        failures = []
        checked = 0
        for route in sorted(routes):
            entry = MATRIX.get(route)
            if entry is None:
                continue  # test_table_covers_every_route reports it
            if isinstance(entry, NOT_IN_HARNESS):
                continue
            for (role, side), cell in expected_cells(entry).items():
                failure = self.check_cell(route, f"{role}, {side}", cell, self.f.cell_request(route, role, side))
                checked += 1
                if failure:
                    failures.append(failure)
        self.assertEqual(failures, [], f"{len(failures)} из {checked} ячеек не совпали:\n" + "\n".join(failures))
        self.assertEqual(checked, 2 * len(ROLES) * len([e for e in MATRIX.values()
                                                         if not isinstance(e, NOT_IN_HARNESS)]))

    def test_cases_beyond_own_and_other(self):
        """Issue 17: enclosing scopes, other schools' people in a visible association, missing ids, taken
        external ids (CASES)."""
        self.assertEqual(sorted(set(CASES) - set(MATRIX)), [], "строки CASES для маршрутов без строки MATRIX")
        failures = []
        checked = 0
        for route in sorted(CASES):
            for case, row in sorted(CASES[route].items()):
                cells = row.split()
                self.assertEqual(len(cells), len(ROLES), (route, case))
                for role, cell in zip(ROLES, cells):
                    failure = self.check_cell(route, f"{role}, {case}", cell, self.f.case_request(route, role, case))
                    checked += 1
                    if failure:
                        failures.append(failure)
        self.assertEqual(failures, [], f"{len(failures)} из {checked} ячеек не совпали:\n" + "\n".join(failures))

    # ---- on the same fixture ----

    def as_role(self, role, method, path, body=None):
        return self.stack.request(method, path, body, token=self.f.tokens[role] or False)

    def test_methodologist_cannot_learn_of_other_municipality_staff(self):
        f = self.f
        mm = "municipal_methodologist"
        before = self.stack.get(f"/api/v1/staff/{f.other_staff}")
        self.assertEqual(before.status, 200, before)
        # get: 404 with the very answer of an id that does not exist
        r = self.as_role(mm, "GET", f"/api/v1/staff/{f.other_staff}")
        missing = self.as_role(mm, "GET", "/api/v1/staff/07-s999999")
        self.assertEqual((r.status, missing.status), (404, 404), (r, missing))
        self.assertEqual(r.json["error"]["message"], missing.json["error"]["message"])
        self.assertEqual(r.json["error"]["code"], missing.json["error"]["code"])
        # lists: absent whatever the filter
        for query in ("regionId=07", f"municipalityId={f.mun['other']}", f"organizationId={f.org['other']}",
                      "regionId=07&q=" + urllib.parse.quote("Чужая")):
            r = self.as_role(mm, "GET", f"/api/v1/staff?{query}&limit=500")
            if r.status == 200:
                ids = [s["id"] for s in r.json["items"]]
                self.assertNotIn(f.other_staff, ids, query)
                self.assertTrue(all(self.stack.get(f"/api/v1/staff/{i}").json["municipalityIds"] == [f.mun["own"]]
                                    for i in ids), query)
            else:
                self.assertIn(r.status, (400, 404), (query, r))
        own = self.as_role(mm, "GET", f"/api/v1/staff?regionId=07&limit=500")
        self.assertIn(f.teacher_staff, [s["id"] for s in own.json["items"]])
        # change and delete: 404 and nothing changed
        r = self.as_role(mm, "PATCH", f"/api/v1/staff/{f.other_staff}", {"lastName": "Изменённая"})
        self.assertEqual(r.status, 404, r)
        r = self.as_role(mm, "DELETE", f"/api/v1/staff/{f.other_staff}")
        self.assertEqual(r.status, 404, r)
        # moving someone into the other municipality's school is refused as if the school did not exist
        r = self.as_role(mm, "PATCH", f"/api/v1/staff/{f.teacher_staff}", {"organizationIds": [f.org["other"]]})
        nowhere = self.as_role(mm, "PATCH", f"/api/v1/staff/{f.teacher_staff}", {"organizationIds": ["07-o99999"]})
        self.assertEqual((r.status, nowhere.status), (400, 400), (r, nowhere))
        self.assertEqual(r.json["error"]["details"], nowhere.json["error"]["details"])
        after = self.stack.get(f"/api/v1/staff/{f.other_staff}")
        self.assertEqual(after.json, before.json, "запись другого района изменилась")
        # users and API keys of another scope: refused the same way whether the target exists or not
        for path, body_of in (("/api/v1/api-keys", lambda org: {"name": "Чужая система",
                                                                "scope": {"kind": "organization", "id": org}}),
                              ("/api/v1/users", lambda org: {"login": f"x{next(_seq)}", "password": new_password(),
                                                             "fullName": "Чужой Администратор", "role": "school_admin",
                                                             "scope": {"kind": "organization", "id": org}})):
            r1 = self.as_role(mm, "POST", path, body_of(f.org["other"]))
            r2 = self.as_role(mm, "POST", path, body_of("07-o99999"))
            self.assertEqual(r1.status, 400, (path, r1))
            self.assertEqual((r1.status, r1.json["error"]["message"], r1.json["error"]["details"]),
                             (r2.status, r2.json["error"]["message"], r2.json["error"]["details"]), (path, r1, r2))
        # the audit trail is not theirs to read
        r = self.as_role(mm, "GET", f"/api/v1/audit?objectId={f.teacher_staff}")
        self.assertEqual(r.status, 403, r)

    def test_external_id_probes_audited_and_limited(self):
        """Issue 17, defect 3: a taken external id reads the same whoever holds it; a refusal on one held
        outside the caller's scope is audited; past the limit every create and import naming an external id
        answers 429, free id or taken."""
        f = self.f
        uid, login, password = f.user("municipal_methodologist", "municipality", f.mun["own"])
        token = f.login(login, password)

        def create(xid):
            return self.stack.request("POST", "/api/v1/staff", staff_body(f.org["own"], externalId=xid), token=token)

        def dry_run(xid):
            csv = ("externalId;lastName;firstName;birthDate;position;category;organizationExternalId\r\n"
                   f"{xid};Пробова;Анна;1990-01-02;teacher;teacher;{f.org['own']}\r\n")
            return self.stack.request("POST", "/api/v1/import/staff?regionId=07&dryRun=true", raw=csv.encode("utf-8"),
                                      headers={"Content-Type": "text/csv; charset=utf-8"}, token=token)

        elsewhere = create(f.probe_xid)
        inside = create(f.own_xid)  # held in the caller's own scope: the same answer, not counted
        self.assertEqual((elsewhere.status, inside.status), (400, 400), (elsewhere, inside))
        self.assertEqual(elsewhere.json["error"]["details"], inside.json["error"]["details"])
        self.assertEqual(elsewhere.json["error"]["details"], [{"field": "externalId", "description": EXTERNAL_ID_TAKEN}])
        r = dry_run(f.probe_xid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([e["message"] for e in r.json["errors"]], [EXTERNAL_ID_TAKEN], r)
        # every refusal on the id held outside is in the audit trail, with the holder
        deadline = time.monotonic() + 5
        while True:
            a = self.stack.get(f"/api/v1/audit?userId={uid}&action=claim_refused&limit=100")
            self.assertEqual(a.status, 200, a)
            entries = a.json.get("items", [])
            if len(entries) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(len(entries), 2, entries)
        self.assertEqual({e.get("objectId") for e in entries}, {f.probe_holder}, entries)
        # the third refusal reaches the limit (3 in this stack): then nothing about any id is answered
        self.assertEqual(create(f.probe_xid).status, 400)
        free = f"{next(_seq):03d}-{os.urandom(3).hex()}-св"
        for r in (dry_run(free), dry_run(f.probe_xid), create(free)):
            self.assertEqual(r.status, 429, r)
            self.assertJsonError(r, 429)
            self.assertGreaterEqual(int(r.header("retry-after", "0")), 1, r)
        # other callers are not limited by it
        r = self.as_role("municipal_methodologist", "POST", "/api/v1/staff", staff_body(f.org["own"], externalId=free))
        self.assertEqual(r.status, 201, r)

    def test_import_file_gets_no_answer_past_the_claim_limit(self):
        """Issue 17, defect 3: a file probing more external ids than the limit (3 in this stack) gets the taken
        answer for the first three and one same refusal for every row after, a free id included."""
        f = self.f
        _uid, login, password = f.user("municipal_methodologist", "municipality", f.mun["own"])
        token = f.login(login, password)
        taken = [f.probe_xid]
        for _ in range(3):
            xid = f"{next(_seq):03d}-{os.urandom(3).hex()}-Б"
            f.staff(f.org["other"], lastName="Занятова", externalId=xid)
            taken.append(xid)
        free = f"{next(_seq):03d}-{os.urandom(3).hex()}-св"
        xids = taken[:3] + [free, taken[3]]
        csv = "externalId;lastName;firstName;birthDate;position;category;organizationExternalId\r\n" + "".join(
            f"{xid};Пробова;Анна;1990-01-02;teacher;teacher;{f.org['own']}\r\n" for xid in xids)
        r = self.stack.request("POST", "/api/v1/import/staff?regionId=07&dryRun=true", raw=csv.encode("utf-8"),
                               headers={"Content-Type": "text/csv; charset=utf-8"}, token=token)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json.get("created", 0), r.json.get("rejected", 0)), (0, 5), r.json)
        by_row = {e["row"]: e["message"] for e in r.json["errors"]}
        self.assertEqual([by_row.get(row) for row in (2, 3, 4)], [EXTERNAL_ID_TAKEN] * 3, by_row)
        self.assertEqual(by_row.get(5), by_row.get(6), by_row)
        self.assertNotEqual(by_row.get(5), EXTERNAL_ID_TAKEN, by_row)
        self.assertIn("Слишком много отказов", by_row.get(5, ""), by_row)

    def test_school_sees_its_people_and_how_many_others_in_municipal_association(self):
        """Issue 17, defect 2: a school reads its municipality's association, its own people in it, the leader in
        the association record, and only the number of the other schools' members."""
        f = self.f
        path = f"/api/v1/associations/{f.assoc['own']}/members?limit=500"
        r = self.as_role("school_admin", "GET", path)
        self.assertEqual(r.status, 200, r)
        ids = [m["id"] for m in r.json["items"]]
        self.assertIn(f.member["own"], ids)  # the teacher of the school
        self.assertNotIn(f.neighbour_member, ids)
        self.assertTrue(all(m["staffId"] != f.neighbour for m in r.json["items"]), r.json)
        self.assertGreaterEqual(r.json.get("others", 0), 1, r.json)
        r = self.as_role("municipal_methodologist", "GET", path)
        self.assertEqual(r.status, 200, r)
        self.assertIn(f.neighbour_member, [m["id"] for m in r.json["items"]])
        self.assertEqual(r.json.get("others", 0), 0, r.json)
        # the other school's person is as unknown to the school as an id that does not exist
        r = self.as_role("school_admin", "GET", f"/api/v1/memberships/{f.neighbour_member}")
        missing = self.as_role("school_admin", "GET", "/api/v1/memberships/07-j999999")
        self.assertEqual((r.status, r.json["error"]["message"]), (missing.status, missing.json["error"]["message"]))
        r = self.as_role("school_admin", "GET", f"/api/v1/staff/{f.neighbour}/memberships")
        missing = self.as_role("school_admin", "GET", "/api/v1/staff/07-s999999/memberships")
        self.assertEqual(r.status, 404, r)
        self.assertEqual((r.status, r.json["error"]["message"]), (missing.status, missing.json["error"]["message"]))

    def test_region_admin_confined_to_region(self):
        f = self.f
        for path in (f"/api/v1/staff/{f.staff08}", f"/api/v1/organizations/{f.org08}",
                     f"/api/v1/municipalities/{f.mun08}", "/api/v1/regions/08"):
            self.assertEqual(self.stack.get(path).status, 404, path)
            self.assertEqual(self.stack.get(path, token=f.admin08).status, 200, path)
        r = self.stack.get("/api/v1/staff?regionId=08&limit=500")
        self.assertTrue(r.status in (400, 404) or f.staff08 not in [s["id"] for s in r.json["items"]], r)
        r = self.stack.get(f"/api/v1/staff/{f.teacher_staff}", token=f.admin08)
        self.assertEqual(r.status, 404, r)

    def test_school_system_gets_no_birth_date(self):
        f = self.f
        r = self.as_role("school_system", "GET", f"/api/v1/staff/{f.teacher_staff}")
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json.get("birthDate"), r)
        r = self.as_role("school_system", "GET", f"/api/v1/staff?organizationId={f.org['own']}&limit=500")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["items"])
        self.assertFalse([s["id"] for s in r.json["items"] if s.get("birthDate")], "дата рождения в списке для ключа API")

    def test_audit_entries_for_staff_read_and_change(self):
        f = self.f
        staff = f.staff(f.org["own"], lastName="Аудитова")
        r = self.as_role("municipal_methodologist", "GET", f"/api/v1/staff/{staff}")
        self.assertEqual(r.status, 200, r)
        read_request = r.header("x-request-id")
        r = self.as_role("school_admin", "PATCH", f"/api/v1/staff/{staff}", {"subjects": ["physics"]})
        self.assertEqual(r.status, 200, r)
        change_request = r.header("x-request-id")
        deadline = time.monotonic() + 5
        while True:
            a = self.stack.get(f"/api/v1/audit?objectId={staff}&limit=100")
            self.assertEqual(a.status, 200, a)
            entries = a.json.get("items", [])
            actions = {(e.get("action"), e.get("role")) for e in entries}
            if {("read", "municipal_methodologist"), ("update", "school_admin")} <= actions or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIn(("read", "municipal_methodologist"), actions, entries)
        self.assertIn(("update", "school_admin"), actions, entries)
        for e in entries:
            self.assertEqual(e.get("objectId"), staff)
            self.assertTrue(e.get("userId") and e.get("at") and e.get("requestId"), e)
        self.assertTrue({read_request, change_request} <= {e.get("requestId") for e in entries}, entries)
        for role in ("municipal_methodologist", "school_admin", "teacher", "school_system"):
            r = self.as_role(role, "GET", f"/api/v1/audit?objectId={staff}")
            self.assertEqual(r.status, 403, (role, r))
        text = json.dumps(entries, ensure_ascii=False)
        for secret in f.secrets:
            self.assertNotIn(secret, text)

    def test_revoked_api_key_refused_within_seconds(self):
        f = self.f
        key_id, secret = f.api_key(f.org["own"])
        path = f"/api/v1/organizations/{f.org['own']}"
        self.assertEqual(self.stack.get(path, token=secret).status, 200)
        r = self.stack.delete(f"/api/v1/api-keys/{key_id}")
        self.assertEqual(r.status, 200, r)
        revoked_at = time.monotonic()
        while True:
            r = self.stack.get(path, token=secret)
            if r.status == 401 or time.monotonic() - revoked_at > 6.0:
                break
            time.sleep(0.2)
        self.assertEqual(r.status, 401, f"отозванный ключ принимается {time.monotonic() - revoked_at:.1f} с")
        self.assertJsonError(r, 401)

    def expire_session(self, token, how):
        """Ages the session's record in Redis as time would (the service options of 30 min / 8 h have no
        command-line override): 'idle' lets its key expire, 'absolute' moves its creation 8 h back."""
        key = "auth:{g}:session:" + hashlib.sha256(token.encode()).hexdigest()
        self.assertEqual(self.stack.redis_cli("EXISTS", key).stdout.strip(), "1", "нет записи сеанса")
        if how == "idle":
            r = self.stack.redis_cli("PEXPIRE", key, "1")
        else:
            r = self.stack.redis_cli("HSET", key, "c", str(int(time.time() * 1000) - 8 * 3600 * 1000 - 1000))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_session_expiry_idle_and_absolute_and_logout(self):
        f = self.f
        login, password = f.role_users["school_admin"]
        for how in ("idle", "absolute", "logout"):
            token = f.login(login, password)
            self.assertEqual(self.stack.get("/api/v1/me", token=token).status, 200)
            started = time.monotonic()
            if how == "logout":
                r = self.stack.post("/api/v1/auth/logout", token=token)
                self.assertEqual(r.status, 200, r)
            else:
                self.expire_session(token, how)
            while True:
                r = self.stack.get("/api/v1/me", token=token)
                if r.status == 401 or time.monotonic() - started > 6.0:
                    break
                time.sleep(0.2)
            self.assertEqual(r.status, 401, f"{how}: сеанс действует {time.monotonic() - started:.1f} с: {r!r}")
            self.assertJsonError(r, 401)
        # the login answer states the expiry: no later than 30 min of idleness from now
        r = self.stack.post("/api/v1/auth/login", {"login": login, "password": password}, token=False)
        self.assertEqual(r.status, 200, r)
        f.secrets.append(r.json["token"])
        self.assertTrue(r.json.get("expiresAt"), r)

    def test_redis_acl_registry_user_cannot_read_auth_keys(self):
        user_key = "auth:{g}:user:" + self.f.ids["own"]["user"]
        r = self.stack.redis_cli("HMGET", user_key, "v", "d", user="registry")
        self.assertIn("NOPERM", r.stdout + r.stderr, r)
        r = self.stack.redis_cli("HMGET", user_key, "v", user="auth")
        self.assertNotIn("NOPERM", r.stdout + r.stderr, r)
        self.assertTrue(r.stdout.strip(), r)
        r = self.stack.redis_cli("HMGET", "reg:{g}:region:07", "v", user="gateway")
        self.assertIn("NOPERM", r.stdout + r.stderr, r)
        r = self.stack.redis_cli("KEYS", "*", user="registry")
        self.assertIn("NOPERM", r.stdout + r.stderr, r)
        # no command without a password (the default user has one nobody knows)
        cli = self.stack.redis_cli("PING", user="ops")
        self.assertEqual(cli.stdout.strip(), "PONG", cli)
        import socket
        with socket.create_connection(("127.0.0.1", self.stack.redis_port), timeout=2) as s:
            s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")
            self.assertTrue(s.recv(128).startswith(b"-NOAUTH"))

    # ---- write scripts under the production Redis ACL (issue 17, item 4) ----
    # Redis does not roll a Lua script back when a command in it fails: before HDEL was granted to the
    # registry, a DELETE deleted the record and kept its externalId taken for ever (503), and a PATCH of
    # externalId applied the change but reserved nothing (503), so a second record took the same value.

    def claim_owner(self, region, value):
        r = self.stack.redis_cli("HGET", f"reg:{{r:{region}}}:xid:staff", value)
        self.assertEqual(r.returncode, 0, r)
        return r.stdout.strip()

    def test_acl_delete_of_staff_with_external_id_frees_it(self):
        f = self.f
        xid = f"СНИЛС-удал-{os.urandom(3).hex()}"
        sid = f.staff(f.org["own"], externalId=xid)
        self.assertEqual(self.claim_owner("07", xid), sid)
        r = self.stack.delete(f"/api/v1/staff/{sid}")
        self.assertIn(r.status, (200, 204), r)
        self.assertEqual(self.stack.get(f"/api/v1/staff/{sid}").status, 404)
        self.assertEqual(self.claim_owner("07", xid), "", "externalId удалённой записи остался занят")
        # a new record may take the value
        again = self.stack.post("/api/v1/staff", staff_body(f.org["own"], externalId=xid))
        self.assertEqual(again.status, 201, again)
        self.assertEqual(self.claim_owner("07", xid), again.json["id"])

    def test_acl_patch_of_external_id_moves_the_claim(self):
        f = self.f
        x, y = f"СНИЛС-X-{os.urandom(3).hex()}", f"СНИЛС-Y-{os.urandom(3).hex()}"
        sid = f.staff(f.org["own"], externalId=x)
        r = self.stack.patch(f"/api/v1/staff/{sid}", {"externalId": y})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json.get("externalId"), y, r)
        self.assertEqual(self.claim_owner("07", y), sid, "новый externalId не занят")
        # a second record with Y is refused (400, externalId taken); X is free again
        second = self.stack.post("/api/v1/staff", staff_body(f.org["own"], externalId=y))
        err = self.assertJsonError(second, 400)  # the API's answer for a taken value: a field violation
        self.assertEqual([d.get("field") for d in err["details"]], ["externalId"], second)
        third = self.stack.post("/api/v1/staff", staff_body(f.org["own"], externalId=x))
        self.assertEqual(third.status, 201, third)
        self.assertEqual(self.claim_owner("07", x), third.json["id"])

    def check_claims(self, *args):
        registry = os.path.join(bin_dir(), "services", "registry", "metodnet-registry")
        return subprocess.run([registry, "check-claims", *args], env=self.stack.env("ops"), capture_output=True,
                              text=True, timeout=120)

    def test_check_claims_repairs_a_damaged_store(self):
        """A store damaged before the fix: a claim of a deleted record, a record whose value nobody holds,
        two records with one value. check-claims reports them; --fix repairs the first two only."""
        f, s = self.f, self.stack
        token = f.admin08
        key = "reg:{r:08}:xid:staff"
        ghost, lost, dup = (f"СНИЛС-{w}-{os.urandom(3).hex()}" for w in ("призрак", "потерян", "дубль"))
        gone = f.staff(f.org08, token=token, externalId=ghost)
        self.assertIn(s.delete(f"/api/v1/staff/{gone}", token=token).status, (200, 204))
        s.redis_cli("HSET", key, ghost, gone)  # the claim the old script left behind
        keeper = f.staff(f.org08, token=token, externalId=lost)
        s.redis_cli("HDEL", key, lost)
        first = f.staff(f.org08, token=token, externalId=dup)
        s.redis_cli("HDEL", key, dup)
        second = f.staff(f.org08, token=token, externalId=dup)  # accepted: the value looked free

        report = self.check_claims()
        self.assertEqual(report.returncode, 3, report)
        out = report.stdout
        self.assertIn(f"«{ghost}» занято за {gone}, а такой записи нет", out)
        self.assertIn(f"у записи {keeper} externalId «{lost}»", out)
        self.assertRegex(out, rf"дубль: .*«{dup}» у записей {first}, {second}|дубль: .*«{dup}» у записей "
                              rf"{second}, {first}")
        self.assertIn("только отчёт", out)
        self.assertEqual(self.claim_owner("08", ghost), gone, "без --fix ничего не меняется")

        fixed = self.check_claims("--fix")
        self.assertEqual(fixed.returncode, 3, fixed)  # the duplicate stays for an operator
        self.assertIn("освобождено", fixed.stdout)
        self.assertEqual(self.claim_owner("08", ghost), "")
        self.assertEqual(self.claim_owner("08", lost), keeper)
        self.assertEqual(self.claim_owner("08", dup), second)
        self.assertRegex(fixed.stdout, r"значений у нескольких записей \(решает оператор\): [1-9]")
        # the operator gives the first record another value; then everything is consistent
        r = s.patch(f"/api/v1/staff/{first}", {"externalId": dup + "-2"}, token=token)
        self.assertEqual(r.status, 200, r)
        clean = self.check_claims("--fix")
        self.assertNotIn(dup, clean.stdout, clean)
        self.assertNotIn(ghost, clean.stdout, clean)

    # ---- after the run: no secret in any log ----

    @classmethod
    def _stop_stack(cls):
        secrets = list(getattr(cls, "f", None).secrets if getattr(cls, "f", None) else [])
        secrets += list(cls.stack.redis_passwords.values())
        cls.stack.stop()
        leaks = []
        names = [os.path.join(cls.stack.dir, n) for n in os.listdir(cls.stack.dir) if n.endswith(".log")]
        for path in names:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8", errors="replace")
            for secret in secrets:
                if secret and secret in text:
                    leaks.append(f"{os.path.basename(path)}: {secret[:6]}…")
        if len(secrets) < 20:
            leaks.append(f"проверено слишком мало секретов ({len(secrets)})")
        super()._stop_stack.__func__(cls)
        if leaks:
            raise AssertionError("секреты в журналах: " + "; ".join(leaks))


class BruteForceTest(StackTestCase):
    """Login throttling: its own stack, since failures are counted per client address too."""

    WORKERS = 1

    @classmethod
    def prepare(cls):
        cls.stack.sessions = 1

    def attempt(self, login, password):
        return self.stack.post("/api/v1/auth/login", {"login": login, "password": password}, token=False)

    def test_wrong_passwords_get_growing_delay_and_one_answer(self):
        s = self.stack
        unknown = self.attempt("nobody-here", "Неверный-пароль-1")
        wrong = self.attempt(s.admin_login, "Неверный-пароль-2")
        self.assertEqual((unknown.status, wrong.status), (401, 401), (unknown, wrong))
        self.assertEqual(unknown.json["error"]["code"], wrong.json["error"]["code"])
        self.assertEqual(unknown.json["error"]["message"], wrong.json["error"]["message"])
        self.assertEqual(unknown.json["error"]["details"], wrong.json["error"]["details"])
        # five failures are free; then each failure doubles the wait
        for i in range(3):
            r = self.attempt(s.admin_login, f"Неверный-пароль-{i + 3}")
            self.assertEqual(r.status, 401, r)
        waits = []
        for _ in range(3):
            r = self.attempt(s.admin_login, "Неверный-пароль-x")
            self.assertEqual(r.status, 429, r)
            self.assertJsonError(r, 429)
            retry = int(r.header("retry-after", "0"))
            self.assertGreaterEqual(retry, 1, r)
            waits.append(retry)
            # even the right password is refused while the wait lasts
            r = self.attempt(s.admin_login, s.admin_password)
            self.assertEqual(r.status, 429, r)
            time.sleep(retry + 0.2)
            r = self.attempt(s.admin_login, "Неверный-пароль-y")
            self.assertEqual(r.status, 401, r)
        r = self.attempt(s.admin_login, "Неверный-пароль-z")
        self.assertEqual(r.status, 429, r)
        waits.append(int(r.header("retry-after", "0")))
        self.assertEqual(waits, sorted(waits), waits)
        self.assertGreater(waits[-1], waits[0], waits)
        # the right password after the wait logs in and clears the count
        time.sleep(waits[-1] + 0.2)
        r = self.attempt(s.admin_login, s.admin_password)
        self.assertEqual(r.status, 200, r)
        for p in s.procs.values():
            text = p.log_text()
            for secret in (s.admin_password, r.json["token"]) + tuple(f"Неверный-пароль-{c}" for c in "12345xyz"):
                self.assertNotIn(secret, text, p.name)


if __name__ == "__main__":
    unittest.main()
