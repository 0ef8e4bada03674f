/* registry_protocol — CouncilMeetingProtocol: the printable minutes of a held council meeting (HTML page as a
 * FileBody; the gateway sends it through ROUTE_FILE_OUT). Scope as for reading the meeting; a planned meeting
 * answers CONFLICT. */
#ifndef METODNET_REGISTRY_PROTOCOL_H
#define METODNET_REGISTRY_PROTOCOL_H

#include <protobuf-c/protobuf-c.h>

#include "entity_store.h"
#include "service_worker.h"

/* Answers call (GetRequest → CouncilMeetingProtocolResponse) when done; store is borrowed and must outlive it. */
void registry_meeting_protocol(service_call *call, const ProtobufCMessage *request, entity_store *store);

#endif
