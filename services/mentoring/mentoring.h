/* mentoring — the mentoring service (MDP "mentoring", keys "mnt:"): support programmes, mentor
 * profiles, mentoring pairs with their lifecycle, matching mentors to a mentee's diagnostic deficits
 * and the optimal bulk assignment. Methods: proto/mentoring_service.proto.
 */
#ifndef METODNET_MENTORING_H
#define METODNET_MENTORING_H

#include <uv.h>

#include "config.h"
#include "redis_link.h"
#include "service_worker.h"

typedef struct mentoring mentoring;

/* link is borrowed and must outlive the service. Returns NULL on failure. */
mentoring *mentoring_new(uv_loop_t *loop, void *zmq_context, const config *cfg, redis_link *link);

/* The method table (for tests and the gateway's route check). */
const service_methods *mentoring_methods(void);

/* Stops taking requests, lets running ones finish, frees the service, then calls done. */
void mentoring_shutdown(mentoring *m, void (*done)(void *ud), void *ud);

#endif
