/* event_pack — writes one packed DomainEvent of the events service (its entity a packed Event) to
 * stdout, for `redis-cli -x XADD ev:{r:R}:events '*' event` in tests/integration/test_notify.py:
 *   metodnet-event-pack <type> <event id> <level: municipal|regional|institutional> <municipality id or "">
 *                       <organizer id> <title> [status: published|cancelled|finished]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "envelope.pb-c.h"
#include "events.pb-c.h"

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr,
                "использование: %s <тип> <id события> <уровень> <id МО или \"\"> <организатор> <название> "
                "[состояние]\n",
                argv[0]);
        return 2;
    }
    Metodnet__Event e = METODNET__EVENT__INIT;
    e.id = argv[2];
    char region[3] = {argv[2][0], argv[2][1], 0};
    e.region_id = region;
    e.type = METODNET__EVENT_TYPE__EVENT_TYPE_SEMINAR;
    e.level = strcmp(argv[3], "regional") == 0        ? METODNET__HOME_LEVEL__HOME_LEVEL_REGIONAL
              : strcmp(argv[3], "institutional") == 0 ? METODNET__HOME_LEVEL__HOME_LEVEL_INSTITUTIONAL
                                                      : METODNET__HOME_LEVEL__HOME_LEVEL_MUNICIPAL;
    e.municipality_id = argv[4];
    e.organizer_organization_id = argv[5];
    e.title = argv[6];
    e.starts_at = "2026-12-10T10:00:00Z";
    e.ends_at = "2026-12-10T13:00:00Z";
    e.venue = "МБОУ СОШ № 1, актовый зал";
    e.capacity = 30;
    const char *status = argc > 7 ? argv[7] : "published";
    e.status = strcmp(status, "cancelled") == 0  ? METODNET__EVENT_STATUS__EVENT_STATUS_CANCELLED
               : strcmp(status, "finished") == 0 ? METODNET__EVENT_STATUS__EVENT_STATUS_FINISHED
                                                 : METODNET__EVENT_STATUS__EVENT_STATUS_PUBLISHED;
    e.version = 2;
    size_t elen = metodnet__event__get_packed_size(&e);
    uint8_t *ebuf = malloc(elen ? elen : 1);
    metodnet__event__pack(&e, ebuf);
    Metodnet__DomainEvent ev = METODNET__DOMAIN_EVENT__INIT;
    ev.type = argv[1];
    ev.entity_id = argv[2];
    ev.version = 2;
    ev.at_unix_ms = clock_unix_ms();
    ev.request_id = "event-pack";
    ev.entity.data = ebuf;
    ev.entity.len = elen;
    size_t len = metodnet__domain_event__get_packed_size(&ev);
    uint8_t *buf = malloc(len);
    metodnet__domain_event__pack(&ev, buf);
    fwrite(buf, 1, len, stdout);
    free(buf);
    free(ebuf);
    return 0;
}
