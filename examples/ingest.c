/* examples/ingest: Mimir's ingest storage in miniature on kwal: `ingest writer` and `ingest reader`. */
#include <stdio.h>
#include <string.h>

#include "ingest.h"

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "writer") && strcmp(argv[1], "reader"))) {
        bool help = argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"));
        fprintf(help ? stdout : stderr,
                "usage: ingest writer|reader -ingest-storage.kafka.address=HOST:PORT "
                "-ingest-storage.kafka.topic=TOPIC [flags]\n"
                "       ingest writer -h, ingest reader -h: every flag\n");
        return help ? 0 : 2;
    }
    bool writer = strcmp(argv[1], "writer") == 0;
    ingest_flags f;
    int rc = ingest_flags_parse(&f, writer, argc - 2, argv + 2);
    if (rc)
        return rc == 1 ? 0 : rc;
    setvbuf(stderr, NULL, _IOLBF, 0);
    return writer ? ingest_writer_run(&f) : ingest_reader_run(&f);
}
