/* Kafka protocol error codes: name, a short explanation, and whether a retry can succeed. */
#include "kerr.h"

#include <stdio.h>

/*
 * Every code of Apache Kafka 4.x (clients/.../protocol/Errors.java): the
 * numbers, names and retriability (whether the Java exception is a
 * RetriableException) are Kafka's; the explanations are kwal's own.
 * Kept dense and in code order so a code is an index.
 */
typedef struct kerr_entry {
    const char *name;
    const char *message;
    bool retriable;
} kerr_entry;

#define R true  /* retriable */
#define F false /* fatal for this request */
#define E(code, name, retriable, msg) [(code) + 1] = {#name, msg, retriable},

static const kerr_entry kerr_table[KW_KERR_MAX + 2] = {
    E(-1, UNKNOWN_SERVER_ERROR, F, "the broker hit an unexpected error handling the request")
    E(0, NONE, F, "no error")
    E(1, OFFSET_OUT_OF_RANGE, F, "the offset is outside the log the broker keeps for the partition")
    E(2, CORRUPT_MESSAGE, R, "a record failed its checksum, is too large, or is otherwise corrupt")
    E(3, UNKNOWN_TOPIC_OR_PARTITION, R, "the broker does not have this topic or partition")
    E(4, INVALID_FETCH_SIZE, F, "the fetch size is not valid")
    E(5, LEADER_NOT_AVAILABLE, R, "the partition has no leader right now (an election is running)")
    E(6, NOT_LEADER_OR_FOLLOWER, R,
      "the broker is not the leader (or not a replica) of the partition")
    E(7, REQUEST_TIMED_OUT, R, "the request timed out on the broker")
    E(8, BROKER_NOT_AVAILABLE, F, "the broker is not available")
    E(9, REPLICA_NOT_AVAILABLE, R, "the replica is not available for the partition")
    E(10, MESSAGE_TOO_LARGE, F, "a batch is larger than the broker or topic allows")
    E(11, STALE_CONTROLLER_EPOCH, F, "the controller epoch in the request is old")
    E(12, OFFSET_METADATA_TOO_LARGE, F, "the offset commit metadata is too large")
    E(13, NETWORK_EXCEPTION, R, "the connection closed before the response arrived")
    E(14, COORDINATOR_LOAD_IN_PROGRESS, R, "the coordinator is still loading its state")
    E(15, COORDINATOR_NOT_AVAILABLE, R, "the coordinator is not available")
    E(16, NOT_COORDINATOR, R, "the broker is not the coordinator for this group or transaction")
    E(17, INVALID_TOPIC_EXCEPTION, F, "the topic name is not valid for this operation")
    E(18, RECORD_LIST_TOO_LARGE, F, "the batch is larger than the topic's segment size")
    E(19, NOT_ENOUGH_REPLICAS, R,
      "fewer in-sync replicas than min.insync.replicas; nothing written")
    E(20, NOT_ENOUGH_REPLICAS_AFTER_APPEND, R,
      "written to the leader, but fewer in-sync replicas than required acknowledged it")
    E(21, INVALID_REQUIRED_ACKS, F, "the acks value is not one the broker accepts")
    E(22, ILLEGAL_GENERATION, F, "the group generation in the request is not the current one")
    E(23, INCONSISTENT_GROUP_PROTOCOL, F,
      "the member's protocols do not match the group's, or none were given")
    E(24, INVALID_GROUP_ID, F, "the group id is not valid")
    E(25, UNKNOWN_MEMBER_ID, F, "the coordinator does not know this member id")
    E(26, INVALID_SESSION_TIMEOUT, F, "the session timeout is outside the broker's allowed range")
    E(27, REBALANCE_IN_PROGRESS, F, "the group is rebalancing; the member must rejoin")
    E(28, INVALID_COMMIT_OFFSET_SIZE, F, "the offset commit is too large")
    E(29, TOPIC_AUTHORIZATION_FAILED, F, "not authorized for the topic")
    E(30, GROUP_AUTHORIZATION_FAILED, F, "not authorized for the group")
    E(31, CLUSTER_AUTHORIZATION_FAILED, F, "not authorized for the cluster operation")
    E(32, INVALID_TIMESTAMP, F, "a record timestamp is outside the range the topic accepts")
    E(33, UNSUPPORTED_SASL_MECHANISM, F, "the broker does not offer this SASL mechanism")
    E(34, ILLEGAL_SASL_STATE, F, "the request is not valid at this point of the SASL exchange")
    E(35, UNSUPPORTED_VERSION, F, "the broker does not support this API version")
    E(36, TOPIC_ALREADY_EXISTS, F, "a topic with this name exists already")
    E(37, INVALID_PARTITIONS, F, "the number of partitions is not valid")
    E(38, INVALID_REPLICATION_FACTOR, F,
      "the replication factor is below 1 or above the number of brokers")
    E(39, INVALID_REPLICA_ASSIGNMENT, F, "the replica assignment is not valid")
    E(40, INVALID_CONFIG, F, "a configuration value is not valid")
    E(41, NOT_CONTROLLER, R, "the broker is not the active controller")
    E(42, INVALID_REQUEST, F, "the broker could not make sense of the request (see its log)")
    E(43, UNSUPPORTED_FOR_MESSAGE_FORMAT, F, "the topic's message format cannot do this")
    E(44, POLICY_VIOLATION, F, "the request breaks a policy configured on the broker")
    E(45, OUT_OF_ORDER_SEQUENCE_NUMBER, F, "the producer sequence number is not the one expected")
    E(46, DUPLICATE_SEQUENCE_NUMBER, F, "the batch was written before (a duplicate of a retry)")
    E(47, INVALID_PRODUCER_EPOCH, F, "the producer epoch is older than the current one")
    E(48, INVALID_TXN_STATE, F, "the transaction is not in a state that allows this")
    E(49, INVALID_PRODUCER_ID_MAPPING, F,
      "the producer id is not the one assigned to this transactional id")
    E(50, INVALID_TRANSACTION_TIMEOUT, F, "the transaction timeout is above the broker's maximum")
    E(51, CONCURRENT_TRANSACTIONS, R, "another operation on this transaction is still running")
    E(52, TRANSACTION_COORDINATOR_FENCED, F, "a newer transaction coordinator has taken over")
    E(53, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, F, "not authorized for the transactional id")
    E(54, SECURITY_DISABLED, F, "security features are disabled on the broker")
    E(55, OPERATION_NOT_ATTEMPTED, F,
      "the broker skipped this operation because another in the same request failed")
    E(56, KAFKA_STORAGE_ERROR, R, "the broker had a disk error accessing the log")
    E(57, LOG_DIR_NOT_FOUND, F, "the log directory is not in the broker's configuration")
    E(58, SASL_AUTHENTICATION_FAILED, F, "SASL authentication failed")
    E(59, UNKNOWN_PRODUCER_ID, F,
      "the broker has no state for this producer id (its records may have expired)")
    E(60, REASSIGNMENT_IN_PROGRESS, F, "a partition reassignment is running")
    E(61, DELEGATION_TOKEN_AUTH_DISABLED, F, "delegation tokens are not enabled")
    E(62, DELEGATION_TOKEN_NOT_FOUND, F, "the delegation token does not exist")
    E(63, DELEGATION_TOKEN_OWNER_MISMATCH, F, "the principal is not the token's owner or renewer")
    E(64, DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, F,
      "delegation token requests need an authenticated, non-token connection")
    E(65, DELEGATION_TOKEN_AUTHORIZATION_FAILED, F, "not authorized for the delegation token")
    E(66, DELEGATION_TOKEN_EXPIRED, F, "the delegation token has expired")
    E(67, INVALID_PRINCIPAL_TYPE, F, "the principal type is not supported")
    E(68, NON_EMPTY_GROUP, F, "the group still has members")
    E(69, GROUP_ID_NOT_FOUND, F, "the group does not exist")
    E(70, FETCH_SESSION_ID_NOT_FOUND, R, "the broker does not know this fetch session")
    E(71, INVALID_FETCH_SESSION_EPOCH, R, "the fetch session epoch is not the expected one")
    E(72, LISTENER_NOT_FOUND, R,
      "the leader has no listener matching the one the request came in on")
    E(73, TOPIC_DELETION_DISABLED, F, "topic deletion is disabled on the broker")
    E(74, FENCED_LEADER_EPOCH, R, "the leader epoch in the request is older than the broker's")
    E(75, UNKNOWN_LEADER_EPOCH, R, "the leader epoch in the request is newer than the broker's")
    E(76, UNSUPPORTED_COMPRESSION_TYPE, F, "the client cannot read the partition's compression")
    E(77, STALE_BROKER_EPOCH, F, "the broker epoch has changed")
    E(78, OFFSET_NOT_AVAILABLE, R,
      "the new leader's high watermark has not caught up; the offset is not known yet")
    E(79, MEMBER_ID_REQUIRED, F, "the member must join again with the member id it was given")
    E(80, PREFERRED_LEADER_NOT_AVAILABLE, R, "the preferred leader is not available")
    E(81, GROUP_MAX_SIZE_REACHED, F, "the group has as many members as it may have")
    E(82, FENCED_INSTANCE_ID, F,
      "another member with the same group.instance.id has replaced this one")
    E(83, ELIGIBLE_LEADERS_NOT_AVAILABLE, R, "no eligible leader is available for the partition")
    E(84, ELECTION_NOT_NEEDED, R, "the partition does not need a leader election")
    E(85, NO_REASSIGNMENT_IN_PROGRESS, F, "no partition reassignment is running")
    E(86, GROUP_SUBSCRIBED_TO_TOPIC, F,
      "the group is subscribed to the topic, so its offsets cannot be deleted")
    E(87, INVALID_RECORD, F, "the broker rejected a record of the batch as invalid")
    E(88, UNSTABLE_OFFSET_COMMIT, R, "offsets of an open transaction are not committed yet")
    E(89, THROTTLING_QUOTA_EXCEEDED, R, "the request went over a throttling quota")
    E(90, PRODUCER_FENCED, F, "a newer producer with the same transactional id fenced this one")
    E(91, RESOURCE_NOT_FOUND, F, "the request names a resource that does not exist")
    E(92, DUPLICATE_RESOURCE, F, "the request names the same resource twice")
    E(93, UNACCEPTABLE_CREDENTIAL, F, "the credential does not meet the broker's criteria")
    E(94, INCONSISTENT_VOTER_SET, F, "the sender or receiver is not one of the expected voters")
    E(95, INVALID_UPDATE_VERSION, F, "the update version is not valid")
    E(96, FEATURE_UPDATE_FAILED, F, "the finalized features could not be updated")
    E(97, PRINCIPAL_DESERIALIZATION_FAILURE, F,
      "a forwarded request's principal could not be read (broker security setup)")
    E(98, SNAPSHOT_NOT_FOUND, F, "the snapshot does not exist")
    E(99, POSITION_OUT_OF_RANGE, F, "the position is outside the snapshot")
    E(100, UNKNOWN_TOPIC_ID, R, "the broker does not have a topic with this id")
    E(101, DUPLICATE_BROKER_REGISTRATION, F, "this broker id is already registered")
    E(102, BROKER_ID_NOT_REGISTERED, F, "this broker id is not registered")
    E(103, INCONSISTENT_TOPIC_ID, R, "the topic id does not match the one in the log")
    E(104, INCONSISTENT_CLUSTER_ID, F, "the cluster id does not match the broker's")
    E(105, TRANSACTIONAL_ID_NOT_FOUND, F, "the transactional id does not exist")
    E(106, FETCH_SESSION_TOPIC_ID_ERROR, R, "the fetch session mixed topic ids inconsistently")
    E(107, INELIGIBLE_REPLICA, F, "the new ISR would contain a replica that is not eligible")
    E(108, NEW_LEADER_ELECTED, F, "the partition state was updated, but the leader changed")
    E(109, OFFSET_MOVED_TO_TIERED_STORAGE, F, "the offset now lives in tiered storage")
    E(110, FENCED_MEMBER_EPOCH, F, "the member epoch is fenced; give up partitions and rejoin")
    E(111, UNRELEASED_INSTANCE_ID, F, "another member still holds this instance id")
    E(112, UNSUPPORTED_ASSIGNOR, F, "the group does not support this assignor or its versions")
    E(113, STALE_MEMBER_EPOCH, F, "the member epoch is stale; heartbeat to learn the current one")
    E(114, MISMATCHED_ENDPOINT_TYPE, F, "the request went to the wrong type of endpoint")
    E(115, UNSUPPORTED_ENDPOINT_TYPE, F, "this endpoint type is not supported")
    E(116, UNKNOWN_CONTROLLER_ID, F, "the controller id is not known")
    E(117, UNKNOWN_SUBSCRIPTION_ID, F, "the telemetry subscription id is unknown or outdated")
    E(118, TELEMETRY_TOO_LARGE, F, "the telemetry push is larger than the broker accepts")
    E(119, INVALID_REGISTRATION, F, "the controller found the broker registration invalid")
    E(120, TRANSACTION_ABORTABLE, F,
      "the transaction hit an error; abort it to go on with this transactional id")
    E(121, INVALID_RECORD_STATE, F, "the record state does not allow this acknowledgement")
    E(122, SHARE_SESSION_NOT_FOUND, R, "the share session does not exist")
    E(123, INVALID_SHARE_SESSION_EPOCH, R, "the share session epoch is not valid")
    E(124, FENCED_STATE_EPOCH, F, "the share-group state epoch does not match")
    E(125, INVALID_VOTER_KEY, F, "the voter key does not match the receiving replica")
    E(126, DUPLICATE_VOTER, F, "the voter is already in the voter set")
    E(127, VOTER_NOT_FOUND, F, "the voter is not in the voter set")
    E(128, INVALID_REGULAR_EXPRESSION, F, "the regular expression is not valid")
    E(129, REBOOTSTRAP_REQUIRED, F,
      "the client's metadata is stale; start again from the bootstrap servers")
    E(130, STREAMS_INVALID_TOPOLOGY, F, "the streams topology is not valid")
    E(131, STREAMS_INVALID_TOPOLOGY_EPOCH, F, "the streams topology epoch is not valid")
    E(132, STREAMS_TOPOLOGY_FENCED, F, "the streams topology epoch is outdated")
    E(133, SHARE_SESSION_LIMIT_REACHED, R, "the broker has as many share sessions as it allows")
};

#undef E
#undef R
#undef F

static const kerr_entry *lookup(int16_t code)
{
    if (code < -1 || code > KW_KERR_MAX)
        return NULL;
    const kerr_entry *e = &kerr_table[code + 1];
    return e->name ? e : NULL;
}

bool kw__kerr_known(int16_t code)
{
    return lookup(code) != NULL;
}

const char *kw__kerr_name(int16_t code)
{
    const kerr_entry *e = lookup(code);
    return e ? e->name : "UNKNOWN";
}

const char *kw__kerr_message(int16_t code)
{
    const kerr_entry *e = lookup(code);
    return e ? e->message : "the broker returned an error code this version of kwal does not know";
}

bool kw__kerr_retriable(int16_t code)
{
    const kerr_entry *e = lookup(code);
    return e && e->retriable;
}

int kw__kerr_describe(int16_t code, char *buf, size_t len)
{
    const kerr_entry *e = lookup(code);
    if (e)
        return snprintf(buf, len, "%s (%d): %s", e->name, code, e->message);
    return snprintf(buf, len, "UNKNOWN_SERVER_ERROR_%d (%d): %s", code, code,
                    kw__kerr_message(code));
}

/* ---------------------------------------------------------------- public names (kwal/error.h) */

const char *kw_kerr_name(int16_t code)
{
    return kw__kerr_name(code);
}

const char *kw_kerr_message(int16_t code)
{
    return kw__kerr_message(code);
}

bool kw_kerr_retriable(int16_t code)
{
    return kw__kerr_retriable(code);
}
