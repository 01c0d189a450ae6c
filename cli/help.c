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

static const char add_user_help[] =
    "NAME\n"
    "    warrenctl add_user - create a user\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl add_user NAME PASSWORD\n"
    "\n"
    "DESCRIPTION\n"
    "    Creates a user with no tags and no permissions (as rabbitmqctl\n"
    "    add_user); fails when the name is taken. The broker keeps a salted\n"
    "    SHA-256 hash of the password. Give it permissions in a vhost with\n"
    "    set_permissions and, to use the management API or warrenctl, a tag\n"
    "    with set_user_tags. Needs an administrator.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl add_user app 's3cret'\n"
    "    warrenctl set_permissions -p orders app '^app\\.' '.*' '.*'\n";

static const char delete_user_help[] =
    "NAME\n"
    "    warrenctl delete_user - delete a user\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl delete_user NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    Deletes the user and its permissions; its open connections are\n"
    "    closed with 320 CONNECTION_FORCED.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl delete_user guest\n";

static const char change_password_help[] =
    "NAME\n"
    "    warrenctl change_password - change a user's password\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl change_password NAME PASSWORD\n"
    "\n"
    "DESCRIPTION\n"
    "    Replaces the password, keeping the tags. Open connections stay.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl change_password app 'n3w-s3cret'\n";

static const char set_user_tags_help[] =
    "NAME\n"
    "    warrenctl set_user_tags - set a user's tags\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_user_tags NAME [TAG...]\n"
    "\n"
    "DESCRIPTION\n"
    "    Replaces the user's tags (none clears them), keeping the password.\n"
    "    administrator: everything, including users, vhosts and permissions;\n"
    "    monitoring: the management API, every vhost and connection shown;\n"
    "    management (or policymaker): the management API, for the vhosts it\n"
    "    has permissions in. A user without one of these cannot use the API\n"
    "    (AMQP works all the same).\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_user_tags ops administrator\n"
    "    warrenctl set_user_tags app\n";

static const char list_users_help[] =
    "NAME\n"
    "    warrenctl list_users - list users and their tags\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_users\n"
    "\n"
    "DESCRIPTION\n"
    "    One row per user: name and tags. -f tsv or -f json for scripts.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_users\n"
    "    warrenctl -f json list_users\n";

static const char add_vhost_help[] =
    "NAME\n"
    "    warrenctl add_vhost - create a vhost\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl add_vhost NAME [description=TEXT]\n"
    "\n"
    "DESCRIPTION\n"
    "    Creates a virtual host (fails when it exists, unless a description\n"
    "    is given: then the description is updated). No user has\n"
    "    permissions in it until set_permissions.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl add_vhost orders description='order pipeline'\n";

static const char delete_vhost_help[] =
    "NAME\n"
    "    warrenctl delete_vhost - delete a vhost\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl delete_vhost NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    Deletes the vhost with its exchanges, queues, messages and\n"
    "    permissions; its connections are closed with 320\n"
    "    CONNECTION_FORCED.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl delete_vhost staging\n";

static const char list_vhosts_help[] =
    "NAME\n"
    "    warrenctl list_vhosts - list vhosts\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_vhosts\n"
    "\n"
    "DESCRIPTION\n"
    "    One row per vhost: name and description (list vhosts shows their\n"
    "    message counts).\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_vhosts\n";

static const char set_permissions_help[] =
    "NAME\n"
    "    warrenctl set_permissions - set a user's permissions in a vhost\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_permissions [-p VHOST] USER CONF WRITE READ\n"
    "\n"
    "DESCRIPTION\n"
    "    Sets three regular expressions (POSIX extended, unanchored) over\n"
    "    exchange and queue names: CONF to declare and delete, WRITE to\n"
    "    publish to an exchange or bind a queue, READ to consume, get, purge\n"
    "    or bind from an exchange. \"\" grants nothing, \".*\" everything.\n"
    "    -p VHOST (as rabbitmqctl; the same as --vhost) defaults to /.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_permissions -p orders app '^app\\.' '.*' '.*'\n"
    "    warrenctl set_permissions reader '' '' '.*'\n";

static const char clear_permissions_help[] =
    "NAME\n"
    "    warrenctl clear_permissions - remove a user's permissions in a vhost\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl clear_permissions [-p VHOST] USER\n"
    "\n"
    "DESCRIPTION\n"
    "    The user can no longer open connections to the vhost.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl clear_permissions -p orders app\n";

static const char list_permissions_help[] =
    "NAME\n"
    "    warrenctl list_permissions - list the permissions in a vhost\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_permissions [-p VHOST]\n"
    "\n"
    "DESCRIPTION\n"
    "    One row per user with permissions in the vhost: user, configure,\n"
    "    write, read.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_permissions -p orders\n";

static const char list_user_permissions_help[] =
    "NAME\n"
    "    warrenctl list_user_permissions - list a user's permissions\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_user_permissions USER\n"
    "\n"
    "DESCRIPTION\n"
    "    One row per vhost the user has permissions in.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_user_permissions app\n";

static const char set_topic_permissions_help[] =
    "NAME\n"
    "    warrenctl set_topic_permissions - restrict routing keys on a topic "
    "exchange\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_topic_permissions [-p VHOST] USER EXCHANGE WRITE READ\n"
    "\n"
    "DESCRIPTION\n"
    "    WRITE is matched against the routing keys the user publishes with,\n"
    "    READ against the binding keys it binds with, on the topic exchange\n"
    "    EXCHANGE; {username} and {vhost} are replaced. Without topic\n"
    "    permissions an exchange is open.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_topic_permissions app amq.topic '^{username}\\.' '.*'\n";

static const char clear_topic_permissions_help[] =
    "NAME\n"
    "    warrenctl clear_topic_permissions - remove a user's topic "
    "permissions\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl clear_topic_permissions [-p VHOST] USER [EXCHANGE]\n"
    "\n"
    "DESCRIPTION\n"
    "    All of the user's topic permissions in the vhost, or those on\n"
    "    EXCHANGE.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user or vhost\n"
    "    does not exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl clear_topic_permissions app amq.topic\n";

static const char set_policy_help[] =
    "NAME\n"
    "    warrenctl set_policy - set a policy on a vhost's queues and "
    "exchanges\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_policy [-p VHOST] [--priority N]\n"
    "                         [--apply-to queues|exchanges|all]\n"
    "                         NAME PATTERN DEFINITION\n"
    "\n"
    "DESCRIPTION\n"
    "    Sets (or replaces) the policy NAME, as rabbitmqctl's set_policy:\n"
    "    every queue and / or exchange of the vhost (default /) whose name\n"
    "    PATTERN matches takes the settings of DEFINITION, a JSON object,\n"
    "    at once: queues declared before the policy too, and those\n"
    "    declared later. PATTERN is a POSIX extended regular expression\n"
    "    matched anywhere in the name (anchor it with ^ and $).\n"
    "\n"
    "    Keys warren acts on: for queues message-ttl, expires, max-length,\n"
    "    max-length-bytes, overflow, dead-letter-exchange,\n"
    "    dead-letter-routing-key and delivery-limit; for exchanges\n"
    "    alternate-exchange. queue-mode, ha-* and the other keys of\n"
    "    features warren lacks are accepted and ignored. Against a queue's\n"
    "    own x-arguments: message-ttl, expires, max-length,\n"
    "    max-length-bytes and delivery-limit take the smaller value;\n"
    "    dead-letter-exchange, dead-letter-routing-key, overflow and\n"
    "    alternate-exchange take the argument when there is one.\n"
    "\n"
    "    At most one policy applies to a queue or exchange: the matching\n"
    "    one with the highest --priority (default 0); between equal\n"
    "    priorities, the name that sorts first. --apply-to defaults to\n"
    "    all. Policies are kept in the definitions file.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 2 when DEFINITION is not a\n"
    "    JSON object (with the reason), 1 when the broker refuses the\n"
    "    policy (with its reason: \"Validation failed: <<\\\"a\\\">> is not a\n"
    "    valid message TTL\"), 5 when the vhost does not exist, 7 when the\n"
    "    login is neither policymaker nor administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_policy DLX '.*' '{\"dead-letter-exchange\":\"dlx\"}' "
    "--apply-to queues\n"
    "    warrenctl set_policy -p orders --priority 5 cap '^orders\\.' "
    "'{\"max-length\": 10000}'\n"
    "    warrenctl set_policy AE '^events$' "
    "'{\"alternate-exchange\":\"unrouted\"}' --apply-to exchanges\n";

static const char clear_policy_help[] =
    "NAME\n"
    "    warrenctl clear_policy - remove a policy\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl clear_policy [-p VHOST] NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    Removes the policy NAME of the vhost (default /), as rabbitmqctl's\n"
    "    clear_policy. Its queues and exchanges go back to their own\n"
    "    arguments (or to another matching policy) at once.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when there is no such\n"
    "    policy or vhost.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl clear_policy DLX\n"
    "    warrenctl clear_policy -p orders cap\n";

static const char list_policies_help[] =
    "NAME\n"
    "    warrenctl list_policies - show a vhost's policies\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_policies [-p VHOST]\n"
    "\n"
    "DESCRIPTION\n"
    "    Lists the policies of the vhost (default /) by name: vhost, name,\n"
    "    pattern, apply-to, definition and priority, as rabbitmqctl's\n"
    "    list_policies.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the vhost does not\n"
    "    exist.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_policies\n"
    "    warrenctl -f json list_policies -p orders\n";

static const char set_operator_policy_help[] =
    "NAME\n"
    "    warrenctl set_operator_policy - set an operator policy (limits "
    "users\n"
    "    cannot lift)\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_operator_policy [-p VHOST] [--priority N]\n"
    "                                  [--apply-to queues|exchanges|all]\n"
    "                                  NAME PATTERN DEFINITION\n"
    "\n"
    "DESCRIPTION\n"
    "    Sets (or replaces) the operator policy NAME, as rabbitmqctl's\n"
    "    set_operator_policy. Operator policies are a second set, kept\n"
    "    apart from the policies, for the broker's operator: they apply to\n"
    "    queues, and their keys are limited to expires, message-ttl,\n"
    "    max-length, max-length-bytes and delivery-limit (max-in-memory-*\n"
    "    accepted and ignored). Where a queue's argument or policy sets the\n"
    "    same key, the smaller value wins. Matching and priority are those\n"
    "    of set_policy. Only an administrator may set them.\n"
    "\n"
    "EXIT STATUS\n"
    "    As set_policy.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_operator_policy cap '.*' "
    "'{\"max-length-bytes\": 100000000}' --apply-to queues\n";

static const char clear_operator_policy_help[] =
    "NAME\n"
    "    warrenctl clear_operator_policy - remove an operator policy\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl clear_operator_policy [-p VHOST] NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    Removes the operator policy NAME of the vhost (default /), as\n"
    "    rabbitmqctl's clear_operator_policy; its queues are re-resolved\n"
    "    at once.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when there is no such\n"
    "    operator policy or vhost.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl clear_operator_policy cap\n";

static const char list_operator_policies_help[] =
    "NAME\n"
    "    warrenctl list_operator_policies - show a vhost's operator "
    "policies\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_operator_policies [-p VHOST]\n"
    "\n"
    "DESCRIPTION\n"
    "    Lists the operator policies of the vhost (default /), as\n"
    "    rabbitmqctl's list_operator_policies, with the columns of\n"
    "    list_policies.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the vhost does not\n"
    "    exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_operator_policies\n";

static const char set_parameter_help[] =
    "NAME\n"
    "    warrenctl set_parameter - define a shovel\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_parameter [-p VHOST] shovel NAME JSON\n"
    "\n"
    "DESCRIPTION\n"
    "    Sets (or replaces, restarting it) the shovel NAME of the vhost\n"
    "    (default /), as rabbitmqctl's set_parameter shovel: JSON is\n"
    "    RabbitMQ's dynamic shovel definition. A shovel moves messages\n"
    "    inside this broker, from src-queue (or src-exchange with\n"
    "    src-exchange-key) to dest-queue (or dest-exchange with\n"
    "    dest-exchange-key); src-uri and dest-uri are amqp:// (the vhost\n"
    "    /) or amqp:///VHOST: shovels to other brokers are refused.\n"
    "    ack-mode is on-confirm (default), on-publish or no-ack;\n"
    "    src-delete-after never (default), queue-length or a count;\n"
    "    prefetch-count defaults to 1000. 'shovel' is the only component.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 2 (usage) for a definition\n"
    "    the broker refuses, with its reason.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_parameter shovel move-orders \\\n"
    "      '{\"src-uri\": \"amqp://\", \"src-queue\": \"orders\",\n"
    "        \"dest-uri\": \"amqp://\", \"dest-queue\": \"orders-v2\"}'\n";

static const char clear_parameter_help[] =
    "NAME\n"
    "    warrenctl clear_parameter - remove a shovel\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl clear_parameter [-p VHOST] shovel NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    Stops and removes the shovel NAME, as rabbitmqctl's\n"
    "    clear_parameter shovel. What it took from its source has reached\n"
    "    the destination; the rest stays in the source.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when there is no such\n"
    "    shovel.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl clear_parameter shovel move-orders\n";

static const char list_parameters_help[] =
    "NAME\n"
    "    warrenctl list_parameters - show a vhost's shovel parameters\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_parameters [-p VHOST]\n"
    "\n"
    "DESCRIPTION\n"
    "    Lists the runtime parameters of the vhost (default /) as\n"
    "    rabbitmqctl's list_parameters: component, name, value. warren's\n"
    "    are the shovels.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help).\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_parameters -p orders\n";

static const char shovel_status_help[] =
    "NAME\n"
    "    warrenctl shovel_status - show every shovel's state\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl shovel_status\n"
    "\n"
    "DESCRIPTION\n"
    "    Lists the shovels of every vhost the login sees, as rabbitmqctl's\n"
    "    shovel_status: name, vhost, type (dynamic), state (starting,\n"
    "    running, terminated), source and destination, the messages moved\n"
    "    and why a terminated one stopped (it retries after its\n"
    "    reconnect-delay).\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help).\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl shovel_status\n"
    "    warrenctl -f json shovel_status\n";

static const char set_vhost_limits_help[] =
    "NAME\n"
    "    warrenctl set_vhost_limits - limit a vhost's connections and queues\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_vhost_limits [-p VHOST] JSON\n"
    "\n"
    "DESCRIPTION\n"
    "    Sets the vhost's limits, as rabbitmqctl's set_vhost_limits: JSON\n"
    "    is an object with max-connections (client connections open at\n"
    "    once) and / or max-queues (queues, exclusive ones included). A\n"
    "    limit left out of JSON is cleared. -1 (or any negative number)\n"
    "    means unlimited, 0 allows none.\n"
    "\n"
    "    Beyond max-connections a new connection to the vhost is refused\n"
    "    with 530 NOT_ALLOWED (\"access to vhost '/' refused for user\n"
    "    'app': connection limit (10) is reached\"). Beyond max-queues a\n"
    "    queue.declare that would create a queue closes the channel with\n"
    "    406 PRECONDITION_FAILED (\"cannot declare queue 'q': queue limit in\n"
    "    vhost '/' (100) is reached\"); redeclaring an existing queue still\n"
    "    works, and the API's queue declare is refused the same way.\n"
    "    Connections and queues already there are kept when a limit is\n"
    "    lowered below their number. The limits are kept in the\n"
    "    definitions file and exported with the definitions.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 1 for an unknown limit or a\n"
    "    value that is not an integer, 5 when the vhost does not exist, 7\n"
    "    when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_vhost_limits -p orders "
    "'{\"max-connections\": 10, \"max-queues\": 100}'\n"
    "    warrenctl set_vhost_limits '{\"max-queues\": 0}'\n";

static const char clear_vhost_limits_help[] =
    "NAME\n"
    "    warrenctl clear_vhost_limits - remove a vhost's limits\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl clear_vhost_limits [-p VHOST]\n"
    "\n"
    "DESCRIPTION\n"
    "    Clears max-connections and max-queues: the vhost is unlimited\n"
    "    again.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the vhost does not\n"
    "    exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl clear_vhost_limits -p orders\n";

static const char list_vhost_limits_help[] =
    "NAME\n"
    "    warrenctl list_vhost_limits - show vhost limits\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_vhost_limits [-p VHOST]\n"
    "    warrenctl list_vhost_limits --global\n"
    "\n"
    "DESCRIPTION\n"
    "    One row with the vhost and its limits as JSON (none when it has\n"
    "    none); with --global, one row per vhost that has limits.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the vhost does not\n"
    "    exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_vhost_limits -p orders\n"
    "    warrenctl -f json list_vhost_limits --global\n";

static const char set_user_limits_help[] =
    "NAME\n"
    "    warrenctl set_user_limits - limit a user's connections and channels\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl set_user_limits USER JSON\n"
    "\n"
    "DESCRIPTION\n"
    "    Sets the user's limits, as rabbitmqctl's set_user_limits: JSON is\n"
    "    an object with max-connections (connections open at once) and / or\n"
    "    max-channels (channels open at once over all its connections). A\n"
    "    limit left out of JSON is kept. -1 (or any negative number) means\n"
    "    unlimited, 0 allows none.\n"
    "\n"
    "    Beyond max-connections connection.open is refused with 530\n"
    "    NOT_ALLOWED (\"connection refused for user 'app': user connection\n"
    "    limit (10) is reached\"); beyond max-channels channel.open closes\n"
    "    the connection with 530 (\"number of channels opened for user\n"
    "    'app' has reached the maximum allowed user limit of (100)\").\n"
    "    Nothing open is closed when a limit is lowered. The limits are\n"
    "    kept with the user in the definitions file.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 1 for an unknown limit or a\n"
    "    value that is not an integer, 5 when the user does not exist, 7\n"
    "    when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl set_user_limits app "
    "'{\"max-connections\": 10, \"max-channels\": 100}'\n";

static const char clear_user_limits_help[] =
    "NAME\n"
    "    warrenctl clear_user_limits - remove a user's limits\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl clear_user_limits USER max-connections|max-channels|all\n"
    "\n"
    "DESCRIPTION\n"
    "    Clears one of the user's limits, or all of them.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user does not\n"
    "    exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl clear_user_limits app all\n";

static const char list_user_limits_help[] =
    "NAME\n"
    "    warrenctl list_user_limits - show user limits\n"
    "\n"
    "SYNOPSIS\n"
    "    warrenctl list_user_limits [--user USER | --global]\n"
    "\n"
    "DESCRIPTION\n"
    "    One row per user that has limits (the user and its limits as\n"
    "    JSON), or only USER's.\n"
    "\n"
    "EXIT STATUS\n"
    "    As every command (warrenctl --help); 5 when the user does not\n"
    "    exist, 7 when the login is not an administrator.\n"
    "\n"
    "EXAMPLES\n"
    "    warrenctl list_user_limits --user app\n";

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
    {"add_user", wc_cmd_add_user, "create a user", add_user_help},
    {"delete_user", wc_cmd_delete_user, "delete a user", delete_user_help},
    {"change_password", wc_cmd_change_password, "change a user's password",
     change_password_help},
    {"set_user_tags", wc_cmd_set_user_tags, "set a user's tags",
     set_user_tags_help},
    {"list_users", wc_cmd_list_users, "list users and their tags",
     list_users_help},
    {"add_vhost", wc_cmd_add_vhost, "create a vhost", add_vhost_help},
    {"delete_vhost", wc_cmd_delete_vhost, "delete a vhost", delete_vhost_help},
    {"list_vhosts", wc_cmd_list_vhosts, "list vhosts", list_vhosts_help},
    {"set_permissions", wc_cmd_set_permissions,
     "set a user's permissions in a vhost", set_permissions_help},
    {"clear_permissions", wc_cmd_clear_permissions,
     "remove a user's permissions in a vhost", clear_permissions_help},
    {"list_permissions", wc_cmd_list_permissions,
     "list the permissions in a vhost", list_permissions_help},
    {"list_user_permissions", wc_cmd_list_user_permissions,
     "list a user's permissions", list_user_permissions_help},
    {"set_topic_permissions", wc_cmd_set_topic_permissions,
     "restrict routing keys on a topic exchange", set_topic_permissions_help},
    {"clear_topic_permissions", wc_cmd_clear_topic_permissions,
     "remove a user's topic permissions", clear_topic_permissions_help},
    {"set_vhost_limits", wc_cmd_set_vhost_limits,
     "set a vhost's max-connections and max-queues", set_vhost_limits_help},
    {"clear_vhost_limits", wc_cmd_clear_vhost_limits, "remove a vhost's limits",
     clear_vhost_limits_help},
    {"list_vhost_limits", wc_cmd_list_vhost_limits, "show vhost limits",
     list_vhost_limits_help},
    {"set_user_limits", wc_cmd_set_user_limits,
     "set a user's max-connections and max-channels", set_user_limits_help},
    {"clear_user_limits", wc_cmd_clear_user_limits, "remove a user's limits",
     clear_user_limits_help},
    {"list_user_limits", wc_cmd_list_user_limits, "show user limits",
     list_user_limits_help},
    {"set_policy", wc_cmd_set_policy,
     "set a policy on a vhost's queues and exchanges", set_policy_help},
    {"clear_policy", wc_cmd_clear_policy, "remove a policy", clear_policy_help},
    {"list_policies", wc_cmd_list_policies, "show a vhost's policies",
     list_policies_help},
    {"set_operator_policy", wc_cmd_set_operator_policy,
     "set an operator policy (limits users cannot lift)",
     set_operator_policy_help},
    {"clear_operator_policy", wc_cmd_clear_operator_policy,
     "remove an operator policy", clear_operator_policy_help},
    {"list_operator_policies", wc_cmd_list_operator_policies,
     "show a vhost's operator policies", list_operator_policies_help},
    {"set_parameter", wc_cmd_set_parameter,
     "rabbitmqctl's: define a shovel (set_parameter shovel NAME JSON)",
     set_parameter_help},
    {"clear_parameter", wc_cmd_clear_parameter,
     "rabbitmqctl's: remove a shovel (clear_parameter shovel NAME)",
     clear_parameter_help},
    {"list_parameters", wc_cmd_list_parameters,
     "rabbitmqctl's: show a vhost's shovel parameters", list_parameters_help},
    {"shovel_status", wc_cmd_shovel_status,
     "rabbitmqctl's: show every shovel's state", shovel_status_help},
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
