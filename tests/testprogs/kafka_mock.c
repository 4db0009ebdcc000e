/* kafka_mock BROKERS TOPIC PARTITIONS
 *
 * A Kafka cluster for end-to-end tests of the Kafka sink, without Kafka: librdkafka's mock
 * cluster of BROKERS brokers on loopback, holding TOPIC with PARTITIONS partitions. Prints
 * its bootstrap servers ("127.0.0.1:PORT,...") as one line on stdout, then takes commands on
 * stdin, one a line, and answers each with "ok" (or "error: ...") on stdout:
 *   down [ID]   disconnect broker ID (1..BROKERS), or all of them, and refuse connections
 *   up [ID]     accept connections again
 *   quit        exit
 * Exits 0 when stdin closes or on quit, 2 on a usage or setup error. A test points the
 * collector (`brokers:`) and kcat at the printed line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void usage(void)
{
	fprintf(stderr, "usage: kafka_mock BROKERS TOPIC PARTITIONS\n");
	exit(2);
}

/* A positive number, or 0 when the text is not one. */
static int positive(const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);

	return *text && !*end && n > 0 && n < 1000 ? (int)n : 0;
}

/* One "down [ID]" or "up [ID]" line; the answer goes to stdout. */
static void set_brokers(rd_kafka_mock_cluster_t *mc, int brokers, const char *verb,
			const char *arg)
{
	int id = -1; /* all brokers */
	rd_kafka_resp_err_t err;

	if (*arg) {
		id = positive(arg);
		if (!id || id > brokers) {
			printf("error: no broker \"%s\" (brokers are 1..%d)\n", arg, brokers);
			return;
		}
	}
	err = strcmp(verb, "down") == 0 ? rd_kafka_mock_broker_set_down(mc, id)
					 : rd_kafka_mock_broker_set_up(mc, id);
	if (err)
		printf("error: %s %s: %s\n", verb, *arg ? arg : "all", rd_kafka_err2str(err));
	else
		printf("ok\n");
}

int main(int argc, char **argv)
{
	char errstr[512], line[256];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_resp_err_t err;
	int brokers, partitions;

	if (argc != 4)
		usage();
	brokers = positive(argv[1]);
	partitions = positive(argv[3]);
	if (!brokers || !partitions || !*argv[2])
		usage();

	/* The mock cluster lives on a client handle; this one never connects anywhere, and
	 * log_level 3 keeps its "no bootstrap.servers" notice off stderr. */
	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		return 2;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kafka_mock: %s\n", errstr);
		return 2;
	}
	mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: could not start a mock cluster\n");
		return 2;
	}
	err = rd_kafka_mock_topic_create(mc, argv[2], partitions, brokers < 3 ? brokers : 3);
	if (err) {
		fprintf(stderr, "kafka_mock: create topic %s: %s\n", argv[2], rd_kafka_err2str(err));
		return 2;
	}
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		char verb[16] = "", arg[16] = "";

		if (sscanf(line, "%15s %15s", verb, arg) < 1)
			continue;
		if (strcmp(verb, "quit") == 0)
			break;
		if (strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0)
			set_brokers(mc, brokers, verb, arg);
		else
			printf("error: unknown command \"%s\" (down [ID], up [ID], quit)\n", verb);
		fflush(stdout);
	}

	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
