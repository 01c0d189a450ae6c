/* SPDX-License-Identifier: MIT */
/* warrenctl's help pages, written like man pages: NAME, SYNOPSIS,
 * DESCRIPTION, ARGUMENTS, EXAMPLES. */
#include "warrenctl.h"

#include <stdarg.h>
#include <string.h>

const char wc_main_help[] =
    "NAME\n"
    "    warrenctl - administer a warren (or RabbitMQ) broker through its\n"
    "    HTTP management API\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [OPTIONS] COMMAND [ARGUMENTS...]\n"
    "    warrenctl help COMMAND\n"
    "\n"
    "DESCRIPTION\n"
    "    Declares, lists and deletes exchanges, queues and bindings,\n"
    "    publishes and fetches messages, shows the broker's status and\n"
    "    moves definitions between brokers. It speaks RabbitMQ's management\n"
    "    API (as rabbitmqadmin does), so it works against RabbitMQ too.\n"
    "    Objects live in the vhost given by --vhost (default /).\n"
    "    Command names may be written with - for _ (set-vhost-limits).\n"
    "\n"
    "COMMANDS\n"
    "%s"
    "\n"
    "OPTIONS\n"
    "    -U, --url URL        the management API: "
    "http[s]://[USER:PASS@]HOST:PORT\n"
    "                         (an amqp://USER:PASS@HOST/VHOST URL works too:\n"
    "                         its credentials, host and vhost are used, with\n"
    "                         the API on port 15672)\n"
    "    -H, --host HOST      API host (default 127.0.0.1)\n"
    "    -P, --port PORT      API port (default 15672)\n"
    "    -u, --username USER  (default guest)\n"
    "    -p, --password PASS  (default guest)\n"
    "    -V, --vhost VHOST    (default /)\n"
    "    -f, --format FORMAT  table (default: aligned columns with a\n"
    "                         header), tsv (tab-separated rows, no header,\n"
    "                         tabs and newlines in values escaped as \\t\n"
    "                         and \\n) or json\n"
    "    -q, --quiet          no confirmation messages\n"
    "    -t, --timeout SECS   give up on the broker after SECS (default 10)\n"
    "    -c, --config FILE    settings file (default ~/.warrenctl.conf)\n"
    "        --cacert FILE    with an https URL: the CA certificates (PEM)\n"
    "                         that the broker's certificate must chain to\n"
    "                         (default: the system's)\n"
    "        --insecure       with an https URL: do not verify the broker's\n"
    "                         certificate (testing only)\n"
    "    -h, --help           this page, or a command's with COMMAND --help\n"
    "        --version        print the version\n"
    "\n"
    "ENVIRONMENT AND FILES\n"
    "    Settings are taken, each overriding the one before, from the\n"
    "    defaults, the settings file, WARREN_URL, WARREN_MGMT_URL and the\n"
    "    options. The settings file holds 'key = value' lines with the keys\n"
    "    url, username, password, vhost, format and timeout; WARRENCTL_CONFIG\n"
    "    names another file.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  success\n"
    "    1  any other error reported by the broker (bad input, ...)\n"
    "    2  usage error: the command line is wrong\n"
    "    3  the broker cannot be reached (connection refused, timeout)\n"
    "    4  authentication failed\n"
    "    5  not found (404): no such vhost, exchange, queue or binding\n"
    "    6  precondition failed (406): inequivalent redeclare, exchange or\n"
    "       queue in use, queue not empty\n"
    "    7  access refused (403): reserved amq.* name, default exchange\n"
    "    8  resource locked (405): exclusive queue of another connection\n"
    "\n"
    "EXAMPLES\n"
    "    RabbitMQ's topics tutorial, set up and watched:\n"
    "        warrenctl declare exchange name=topic_logs type=topic\n"
    "        warrenctl declare queue name=critical\n"
    "        warrenctl declare binding source=topic_logs destination=critical "
    "\\\n"
    "            routing_key='*.critical'\n"
    "        warrenctl publish exchange=topic_logs routing_key=kern.critical "
    "\\\n"
    "            payload='disk full'\n"
    "        warrenctl list queues\n"
    "        warrenctl export topology.json\n"
    "        warrenctl --url http://admin:secret@newhost:15672 import "
    "topology.json\n";

static const char declare_help[] =
    "NAME\n"
    "    warrenctl declare - declare an exchange, a queue or a binding\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl declare exchange name=NAME [type=TYPE] [durable=BOOL]\n"
    "                      [auto_delete=BOOL] [internal=BOOL] "
    "[arguments=JSON]\n"
    "    warrenctl declare queue name=NAME [durable=BOOL] [auto_delete=BOOL]\n"
    "                      [arguments=JSON]\n"
    "    warrenctl declare binding source=EXCHANGE destination=NAME\n"
    "                      [destination_type=queue|exchange] "
    "[routing_key=KEY]\n"
    "                      [arguments=JSON]\n"
    "\n"
    "DESCRIPTION\n"
    "    Declares as AMQP's exchange.declare, queue.declare and\n"
    "    queue.bind / exchange.bind do: declaring what exists with the same\n"
    "    properties is fine; with different ones it fails (exit status 6).\n"
    "    type is direct (default), fanout, topic or headers; BOOL is true or\n"
    "    false (default false); arguments is a JSON object of x-arguments.\n"
    "    Names starting with amq. are reserved (exit status 7).\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl declare exchange name=logs type=fanout durable=true\n"
    "    warrenctl declare queue name=jobs arguments='{\"x-max-priority\": "
    "10}'\n"
    "    warrenctl declare binding source=logs destination=jobs\n"
    "    warrenctl declare binding source=amq.topic destination=logs \\\n"
    "        destination_type=exchange routing_key='app.#'\n";

static const char delete_help[] =
    "NAME\n"
    "    warrenctl delete - delete an exchange, a queue or a binding\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl delete exchange name=NAME [if_unused=true]\n"
    "    warrenctl delete queue name=NAME [if_unused=true] [if_empty=true]\n"
    "    warrenctl delete binding source=EXCHANGE destination=NAME\n"
    "                     [destination_type=queue|exchange] "
    "[routing_key=KEY]\n"
    "                     [arguments=JSON | properties_key=KEY]\n"
    "\n"
    "DESCRIPTION\n"
    "    Deleting a queue drops its messages and cancels its consumers;\n"
    "    deleting an exchange removes its bindings. if_unused refuses when\n"
    "    there are bindings (exchange) or consumers (queue), if_empty when\n"
    "    the queue holds messages (exit status 6). A binding is named by its\n"
    "    ends, routing key and arguments (or the properties_key that\n"
    "    'list bindings properties_key' shows). What does not exist is an\n"
    "    error (exit status 5).\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl delete queue name=jobs if_empty=true\n"
    "    warrenctl delete binding source=logs destination=jobs "
    "routing_key=''\n";

static const char list_help[] =
    "NAME\n"
    "    warrenctl list - list queues, exchanges, bindings, connections,\n"
    "    channels, consumers or vhosts\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-f table|tsv|json] list WHAT [COLUMN...]\n"
    "\n"
    "DESCRIPTION\n"
    "    Lists the vhost's queues, exchanges, bindings or consumers, or\n"
    "    the broker's connections, channels or vhosts, one row each, sorted\n"
    "    by name. COLUMNs are field names of the API's objects, dotted for\n"
    "    nested ones (message_stats.publish); the shorthands ready, unacked,\n"
    "    publish_rate, deliver_rate, ack_rate, in_rate and out_rate stand\n"
    "    for the usual ones. Without columns each list has its own.\n"
    "    Rates are messages per second over the broker's last sampling\n"
    "    interval.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list queues\n"
    "    warrenctl list queues name messages publish_rate\n"
    "    warrenctl -f tsv list bindings source destination routing_key\n"
    "    warrenctl -f json list connections\n";

static const char purge_help[] =
    "NAME\n"
    "    warrenctl purge - drop every ready message of a queue\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl purge queue name=NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    As AMQP's queue.purge: messages delivered and not yet acknowledged\n"
    "    stay.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl purge queue name=jobs\n";

static const char publish_help[] =
    "NAME\n"
    "    warrenctl publish - publish one message\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl publish [exchange=NAME] routing_key=KEY [payload=TEXT]\n"
    "                      [payload_encoding=string|base64] "
    "[properties=JSON]\n"
    "\n"
    "DESCRIPTION\n"
    "    Routes the message exactly as basic.publish does. Without an\n"
    "    exchange it goes to the default exchange (the queue named by the\n"
    "    routing key). Without a payload, standard input is the payload\n"
    "    (any bytes). properties is a JSON object of AMQP basic properties:\n"
    "    content_type, delivery_mode, priority, headers, ... Prints whether\n"
    "    a queue took the message.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl publish routing_key=jobs payload='hello'\n"
    "    warrenctl publish exchange=logs routing_key=x \\\n"
    "        properties='{\"delivery_mode\": 2, \"headers\": {\"k\": 1}}' "
    "payload=hi\n"
    "    gzip -c report.txt | warrenctl publish routing_key=files\n";

static const char get_help[] =
    "NAME\n"
    "    warrenctl get - fetch messages from a queue\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl get queue=NAME [count=N] [ackmode=MODE] "
    "[encoding=auto|base64]\n"
    "                  [truncate=BYTES]\n"
    "\n"
    "DESCRIPTION\n"
    "    Takes up to N messages (default 1) as basic.get does. MODE says what\n"
    "    happens to them then: requeue (default: they go back, marked\n"
    "    redelivered), ack (removed), reject (removed) or reject_requeue.\n"
    "    Payloads that are not UTF-8 text are shown base64-encoded.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl get queue=jobs\n"
    "    warrenctl get queue=jobs count=10 ackmode=ack\n"
    "    warrenctl -f json get queue=jobs encoding=base64\n";

static const char peek_help[] =
    "NAME\n"
    "    warrenctl peek - show messages at the head of a queue, leaving them\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl peek queue=NAME [count=N] [encoding=auto|base64] "
    "[truncate=BYTES]\n"
    "\n"
    "DESCRIPTION\n"
    "    Shows the first N ready messages (default 1) in the order consumers\n"
    "    would get them, without taking them: nothing is moved, reordered or\n"
    "    marked redelivered, and consumers are not affected (RabbitMQ's get\n"
    "    with requeue would redeliver them). Expired messages are skipped.\n"
    "    Payloads that are not UTF-8 text are shown base64-encoded.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl peek queue=jobs\n"
    "    warrenctl peek queue=jobs count=20 truncate=64\n"
    "    warrenctl -f json peek queue=jobs encoding=base64\n";

static const char move_help[] =
    "NAME\n"
    "    warrenctl move - move ready messages from one queue to another\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl move queue=NAME to=DESTINATION [count=N]\n"
    "\n"
    "DESCRIPTION\n"
    "    Takes ready messages from the head of queue NAME (all of them, or\n"
    "    the first N) and puts them at the tail of queue DESTINATION in the\n"
    "    same vhost, unchanged: properties, headers, exchange and routing\n"
    "    key stay as published, and they are not marked redelivered. For\n"
    "    example a dead-letter queue back to the queue its messages came\n"
    "    from (RabbitMQ needs the shovel plugin for this). Needs read\n"
    "    permission on NAME and write on DESTINATION. A destination that\n"
    "    refuses a message (x-overflow reject-publish) stops the move there;\n"
    "    the rest stay in NAME. Prints how many were moved.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl move queue=orders.dlq to=orders\n"
    "    warrenctl move queue=orders.dlq to=orders count=10\n";

static const char status_help[] =
    "NAME\n"
    "    warrenctl status - the broker's identity, totals and rates\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl [-f table|tsv|json] status\n"
    "\n"
    "DESCRIPTION\n"
    "    Shows the broker and its version, node, listeners, the numbers of\n"
    "    connections, channels, queues, exchanges and consumers, the\n"
    "    messages held and the publish, deliver and ack rates. With -f json\n"
    "    it prints the API's whole overview.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl status\n"
    "    warrenctl -f tsv status | grep '^messages'\n";

static const char export_help[] =
    "NAME\n"
    "    warrenctl export - save the broker's definitions to a file\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl export FILE [vhost=NAME]\n"
    "\n"
    "DESCRIPTION\n"
    "    Writes vhosts, exchanges, queues and bindings in RabbitMQ's\n"
    "    definitions format ('-' is standard output); with vhost=NAME only\n"
    "    that vhost's. Exclusive queues and built-in exchanges are left out.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl export topology.json\n"
    "    warrenctl export - vhost=/ > root.json\n";

static const char import_help[] =
    "NAME\n"
    "    warrenctl import - load definitions from a file\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl import FILE [vhost=NAME]\n"
    "\n"
    "DESCRIPTION\n"
    "    Declares the vhosts, exchanges, queues and bindings of a\n"
    "    definitions file, as exported by warrenctl export, rabbitmqadmin or\n"
    "    RabbitMQ ('-' is standard input); with vhost=NAME into that vhost.\n"
    "    A malformed file changes nothing; a conflict with what exists\n"
    "    (exit status 1, the reason says which item) stops the import there.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl import topology.json\n"
    "    warrenctl --url http://guest:guest@newhost:15672 import "
    "topology.json\n";

static const char help_help[] =
    "NAME\n"
    "    warrenctl help - show a command's help page\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl help [COMMAND]\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl help declare\n";

/* ---- rabbitmqctl's names (rabbitmqctl.c) ---- */

#define LIST_HELP(cmd, what, defaults, items, extra)                           \
    "NAME\n"                                                                   \
    "    warrenctl " cmd " - list " what ", as rabbitmqctl does\n"             \
    "\n"                                                                       \
    "SYNOPSIS\n"                                                               \
    "    warrenctl " cmd extra " [ITEM...]\n"                                  \
    "\n"                                                                       \
    "DESCRIPTION\n"                                                            \
    "    One row per object with rabbitmqctl's default columns,\n"             \
    "        " defaults "\n"                                                   \
    "    or the info items named, in that order, from:\n"                      \
    "        " items "\n"                                                      \
    "    (the management API's fields under rabbitmqctl's names).\n"           \
    "    -f tsv (tab-separated, as rabbitmqctl prints) or -f json for\n"       \
    "    scripts.\n"

static const char list_queues_help[] = LIST_HELP(
    "list_queues", "queues", "name messages",
    "name vhost durable auto_delete exclusive arguments policy\n"
    "        messages messages_ready messages_unacknowledged message_bytes\n"
    "        message_bytes_ready message_bytes_unacknowledged messages_ram\n"
    "        message_bytes_ram messages_persistent message_bytes_persistent\n"
    "        consumers memory state type",
    " [-p VHOST]") "\n"
                   "EXAMPLES\n"
                   "    warrenctl list_queues\n"
                   "    warrenctl list_queues -p orders name messages "
                   "consumers\n";
static const char list_exchanges_help[] =
    LIST_HELP("list_exchanges", "exchanges", "name type",
              "name vhost type durable auto_delete internal arguments policy",
              " [-p VHOST]");
static const char list_bindings_help[] =
    LIST_HELP("list_bindings", "bindings",
              "source_name source_kind destination_name destination_kind\n"
              "        routing_key arguments",
              "source_name source_kind destination_name destination_kind\n"
              "        routing_key arguments vhost",
              " [-p VHOST]");
static const char list_connections_help[] = LIST_HELP(
    "list_connections", "connections (of every vhost)",
    "user peer_host peer_port state",
    "name user vhost peer_host peer_port host port state channels\n"
    "        protocol auth_mechanism ssl timeout frame_max channel_max\n"
    "        client_properties recv_oct send_oct connected_at",
    "") "\n"
        "    The name column is what close_connection takes.\n";
static const char list_consumers_help[] = LIST_HELP(
    "list_consumers", "consumers",
    "queue_name channel_pid consumer_tag ack_required prefetch_count\n"
    "        active activity_status arguments",
    "queue_name channel_pid consumer_tag ack_required prefetch_count\n"
    "        active activity_status exclusive arguments",
    " [-p VHOST]") "\n"
                   "    channel_pid is the channel's name (warren has no "
                   "Erlang pids).\n";
static const char list_channels_help[] = LIST_HELP(
    "list_channels", "channels (of every vhost)",
    "pid user consumer_count messages_unacknowledged",
    "pid name connection number user vhost transactional confirm\n"
    "        consumer_count messages_unacknowledged messages_unconfirmed\n"
    "        prefetch_count global_prefetch_count",
    "") "\n"
        "    pid is the channel's name (warren has no Erlang pids).\n";

static const char close_connection_help[] =
    "NAME\n"
    "    warrenctl close_connection - close a client connection\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl close_connection NAME EXPLANATION\n"
    "\n"
    "DESCRIPTION\n"
    "    Closes the connection called NAME (the name column of\n"
    "    list_connections, \"127.0.0.1:40000 -> 127.0.0.1:5672\") with\n"
    "    connection.close 320 CONNECTION_FORCED and EXPLANATION in the\n"
    "    reply text, as rabbitmqctl close_connection does (which names it\n"
    "    by Erlang pid). DELETE /api/connections/NAME with X-Reason.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl close_connection '127.0.0.1:40000 -> 127.0.0.1:5672' "
    "'maintenance'\n";

static const char purge_queue_help[] =
    "NAME\n"
    "    warrenctl purge_queue - drop a queue's ready messages\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl purge_queue [-p VHOST] QUEUE\n"
    "\n"
    "DESCRIPTION\n"
    "    As rabbitmqctl purge_queue: the messages waiting in QUEUE are\n"
    "    dropped; unacknowledged ones stay with their consumers.\n";

static const char delete_queue_help[] =
    "NAME\n"
    "    warrenctl delete_queue - delete a queue\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl delete_queue [-p VHOST] QUEUE [--if-empty] [--if-unused]\n"
    "\n"
    "DESCRIPTION\n"
    "    As rabbitmqctl delete_queue: deletes QUEUE and its messages; its\n"
    "    consumers get basic.cancel. --if-empty and --if-unused refuse\n"
    "    (exit 6) when it has messages or consumers.\n";

static const char set_log_level_help[] =
    "NAME\n"
    "    warrenctl set_log_level - change the broker's log level\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_log_level LEVEL\n"
    "\n"
    "DESCRIPTION\n"
    "    Sets the level of every log output (stderr and log.file) until\n"
    "    the broker restarts, as rabbitmqctl set_log_level does: debug,\n"
    "    info, notice, warning, error, critical (as error) or none.\n"
    "    PUT /api/log-level {\"level\": LEVEL} (warren's own path;\n"
    "    administrator tag).\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_log_level debug\n";

const struct wc_command wc_commands[] = {
    {"declare", wc_cmd_declare, "declare an exchange, queue or binding",
     declare_help},
    {"delete", wc_cmd_delete, "delete an exchange, queue or binding",
     delete_help},
    {"list", wc_cmd_list, "list queues, exchanges, bindings, connections, ...",
     list_help},
    {"purge", wc_cmd_purge, "drop a queue's ready messages", purge_help},
    {"publish", wc_cmd_publish, "publish a message", publish_help},
    {"get", wc_cmd_get, "fetch messages from a queue", get_help},
    {"peek", wc_cmd_peek, "show messages at the head of a queue, leaving them",
     peek_help},
    {"move", wc_cmd_move, "move ready messages from one queue to another",
     move_help},
    {"status", wc_cmd_status, "show the broker's totals and rates",
     status_help},
    {"export", wc_cmd_export, "save definitions to a file", export_help},
    {"import", wc_cmd_import, "load definitions from a file", import_help},
    {"add_user", wc_cmd_add_user, "create a user", wc_add_user_help},
    {"delete_user", wc_cmd_delete_user, "delete a user", wc_delete_user_help},
    {"change_password", wc_cmd_change_password, "change a user's password",
     wc_change_password_help},
    {"set_user_tags", wc_cmd_set_user_tags, "set a user's tags",
     wc_set_user_tags_help},
    {"list_users", wc_cmd_list_users, "list users and their tags",
     wc_list_users_help},
    {"add_vhost", wc_cmd_add_vhost, "create a vhost", wc_add_vhost_help},
    {"delete_vhost", wc_cmd_delete_vhost, "delete a vhost",
     wc_delete_vhost_help},
    {"list_vhosts", wc_cmd_list_vhosts, "list vhosts", wc_list_vhosts_help},
    {"set_permissions", wc_cmd_set_permissions,
     "set a user's permissions in a vhost", wc_set_permissions_help},
    {"clear_permissions", wc_cmd_clear_permissions,
     "remove a user's permissions in a vhost", wc_clear_permissions_help},
    {"list_permissions", wc_cmd_list_permissions,
     "list the permissions in a vhost", wc_list_permissions_help},
    {"list_user_permissions", wc_cmd_list_user_permissions,
     "list a user's permissions", wc_list_user_permissions_help},
    {"set_topic_permissions", wc_cmd_set_topic_permissions,
     "restrict routing keys on a topic exchange",
     wc_set_topic_permissions_help},
    {"clear_topic_permissions", wc_cmd_clear_topic_permissions,
     "remove a user's topic permissions", wc_clear_topic_permissions_help},
    {"set_vhost_limits", wc_cmd_set_vhost_limits,
     "set a vhost's max-connections and max-queues", wc_set_vhost_limits_help},
    {"clear_vhost_limits", wc_cmd_clear_vhost_limits, "remove a vhost's limits",
     wc_clear_vhost_limits_help},
    {"list_vhost_limits", wc_cmd_list_vhost_limits, "show vhost limits",
     wc_list_vhost_limits_help},
    {"set_user_limits", wc_cmd_set_user_limits,
     "set a user's max-connections and max-channels", wc_set_user_limits_help},
    {"clear_user_limits", wc_cmd_clear_user_limits, "remove a user's limits",
     wc_clear_user_limits_help},
    {"list_user_limits", wc_cmd_list_user_limits, "show user limits",
     wc_list_user_limits_help},
    {"set_policy", wc_cmd_set_policy,
     "set a policy on a vhost's queues and exchanges", wc_set_policy_help},
    {"clear_policy", wc_cmd_clear_policy, "remove a policy",
     wc_clear_policy_help},
    {"list_policies", wc_cmd_list_policies, "show a vhost's policies",
     wc_list_policies_help},
    {"set_operator_policy", wc_cmd_set_operator_policy,
     "set an operator policy (limits users cannot lift)",
     wc_set_operator_policy_help},
    {"clear_operator_policy", wc_cmd_clear_operator_policy,
     "remove an operator policy", wc_clear_operator_policy_help},
    {"list_operator_policies", wc_cmd_list_operator_policies,
     "show a vhost's operator policies", wc_list_operator_policies_help},
    {"set_parameter", wc_cmd_set_parameter,
     "rabbitmqctl's: define a shovel (set_parameter shovel NAME JSON)",
     wc_set_parameter_help},
    {"clear_parameter", wc_cmd_clear_parameter,
     "rabbitmqctl's: remove a shovel (clear_parameter shovel NAME)",
     wc_clear_parameter_help},
    {"list_parameters", wc_cmd_list_parameters,
     "rabbitmqctl's: show a vhost's shovel parameters",
     wc_list_parameters_help},
    {"shovel_status", wc_cmd_shovel_status,
     "rabbitmqctl's: show every shovel's state", wc_shovel_status_help},
    {"list_queues", wc_cmd_list_queues,
     "rabbitmqctl's: queues (name messages, or the columns given)",
     list_queues_help},
    {"list_exchanges", wc_cmd_list_exchanges,
     "rabbitmqctl's: exchanges (name type, or the columns given)",
     list_exchanges_help},
    {"list_bindings", wc_cmd_list_bindings, "rabbitmqctl's: bindings",
     list_bindings_help},
    {"list_connections", wc_cmd_list_connections,
     "rabbitmqctl's: connections (user peer_host peer_port state)",
     list_connections_help},
    {"list_consumers", wc_cmd_list_consumers, "rabbitmqctl's: consumers",
     list_consumers_help},
    {"list_channels", wc_cmd_list_channels, "rabbitmqctl's: channels",
     list_channels_help},
    {"close_connection", wc_cmd_close_connection,
     "close a connection, giving the client a reason", close_connection_help},
    {"purge_queue", wc_cmd_purge_queue, "drop a queue's ready messages",
     purge_queue_help},
    {"delete_queue", wc_cmd_delete_queue, "delete a queue", delete_queue_help},
    {"add_super_stream", wc_cmd_add_super_stream,
     "rabbitmq-streams': create a super stream (partitioned stream)",
     wc_add_super_stream_help},
    {"delete_super_stream", wc_cmd_delete_super_stream,
     "rabbitmq-streams': delete a super stream and its partitions",
     wc_delete_super_stream_help},
    {"list_super_streams", wc_cmd_list_super_streams,
     "super streams and their partitions", wc_list_super_streams_help},
    {"list_streams", wc_cmd_list_streams,
     "stream queues: offsets, size on disk, segments", wc_list_streams_help},
    {"list_stream_consumers", wc_cmd_list_stream_consumers,
     "stream consumers: offset and lag", wc_list_stream_consumers_help},
    {"list_stream_tracking", wc_cmd_list_stream_tracking,
     "offsets stored by stream offset tracking", wc_list_stream_tracking_help},
    {"set_log_level", wc_cmd_set_log_level,
     "change the broker's log level at run time", set_log_level_help},
    {"help", wc_cmd_help, "show a command's help page", help_help},
};

/* Command names compare with '-' and '_' alike: set-vhost-limits is
 * set_vhost_limits. */
static bool
name_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
            return false;
    return *a == *b;
}

bool
wc_command_takes_vhost_p(const char *name)
{
    static const char *const names[] = {"set_permissions",
                                        "clear_permissions",
                                        "list_permissions",
                                        "set_topic_permissions",
                                        "clear_topic_permissions",
                                        "set_vhost_limits",
                                        "clear_vhost_limits",
                                        "list_vhost_limits",
                                        "set_policy",
                                        "clear_policy",
                                        "list_policies",
                                        "set_operator_policy",
                                        "clear_operator_policy",
                                        "list_operator_policies",
                                        "set_parameter",
                                        "clear_parameter",
                                        "list_parameters",
                                        "list_queues",
                                        "list_exchanges",
                                        "list_bindings",
                                        "list_consumers",
                                        "purge_queue",
                                        "delete_queue"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (name_eq(names[i], name))
            return true;
    return false;
}
const size_t wc_ncommands = sizeof(wc_commands) / sizeof(wc_commands[0]);

const struct wc_command *
wc_command_find(const char *name)
{
    for (size_t i = 0; i < wc_ncommands; i++)
        if (name_eq(wc_commands[i].name, name))
            return &wc_commands[i];
    return NULL;
}

int
wc_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("warrenctl: ", stderr);
    if (cmd)
        fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'warrenctl help%s%s')\n", cmd ? " " : "",
            cmd ? cmd : "");
    return WC_EXIT_USAGE;
}

int
wc_cmd_help(const struct wc_settings *s, int argc, char **argv)
{
    const struct wc_command *c;

    (void)s;
    if (argc == 0) {
        char list[8192];
        size_t o = 0;
        for (size_t i = 0; i < wc_ncommands; i++)
            o += (size_t)snprintf(list + o, sizeof(list) - o, "    %-9s %s\n",
                                  wc_commands[i].name, wc_commands[i].summary);
        printf(wc_main_help, list);
        return WC_EXIT_OK;
    }
    c = wc_command_find(argv[0]);
    if (c == NULL)
        return wc_usage(NULL, "no command '%s'", argv[0]);
    fputs(c->help, stdout);
    return WC_EXIT_OK;
}
