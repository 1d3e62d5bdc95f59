/* hull pull and hull push (src/image/registry.c does the work). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../image/registry.h"
#include "hull_cmds.h"

struct reg_cli {
  struct registry_opts o;
  bool quiet;
};

/* Options both commands take; returns the index of the first operand. */
static int parse(int argc, char **argv, struct reg_cli *c, bool pull) {
  static const struct option opts[] = {
      {"quiet", no_argument, NULL, 'q'},
      {"creds", required_argument, NULL, 'c'},
      {"tls-verify", optional_argument, NULL, 't'},
      {"platform", required_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  c->o.tls_verify = true;
  int ch;
  while ((ch = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
    switch (ch) {
    case 'q': c->quiet = true; break;
    case 'c': c->o.creds = optarg; break;
    case 't':
      if (!optarg || !strcmp(optarg, "true"))
        c->o.tls_verify = true;
      else if (!strcmp(optarg, "false"))
        c->o.tls_verify = false;
      else {
        fprintf(stderr, "hull: --tls-verify=%s: must be true or false\n", optarg);
        return -1;
      }
      break;
    case 'p':
      if (!pull) {
        fprintf(stderr, "hull: push: unknown option --platform\n");
        return -1;
      }
      c->o.platform = optarg;
      break;
    case 'h':
      printf(pull ? "usage: hull pull [-q] [--platform OS/ARCH[/VARIANT]] [--creds USER:PASS] "
                    "[--tls-verify=false] REFERENCE\n"
                  : "usage: hull push [-q] [--creds USER:PASS] [--tls-verify=false] "
                    "IMAGE [DESTINATION]\n");
      exit(0);
    default:
      return -1;
    }
  }
  return optind;
}

int hull_cmd_pull(struct hull_ctx *ctx, int argc, char **argv) {
  struct reg_cli c = {0};
  int i = parse(argc, argv, &c, true);
  if (i < 0)
    return HULL_EXIT_ERROR;
  if (argc - i != 1) {
    fprintf(stderr, "hull: pull: one image reference expected\n");
    return HULL_EXIT_ERROR;
  }
  struct hull_error e = {0};
  struct store *s;
  if (store_open(ctx->root, &s, &e) < 0) {
    fprintf(stderr, "hull: %s\n", e.msg);
    return HULL_EXIT_ERROR;
  }
  c.o.progress = progress_new(STDERR_FILENO, c.quiet);
  char id[HULL_DIGEST_MAX];
  int r = registry_pull(s, argv[i], &c.o, id, &e);
  progress_free(c.o.progress);
  store_close(s);
  if (r < 0) {
    fprintf(stderr, "hull: pull %s: %s\n", argv[i], e.msg);
    return HULL_EXIT_ERROR;
  }
  printf("%s\n", id);
  return 0;
}

int hull_cmd_push(struct hull_ctx *ctx, int argc, char **argv) {
  struct reg_cli c = {0};
  int i = parse(argc, argv, &c, false);
  if (i < 0)
    return HULL_EXIT_ERROR;
  if (argc - i < 1 || argc - i > 2) {
    fprintf(stderr, "hull: push: IMAGE [DESTINATION] expected\n");
    return HULL_EXIT_ERROR;
  }
  struct hull_error e = {0};
  struct store *s;
  if (store_open(ctx->root, &s, &e) < 0) {
    fprintf(stderr, "hull: %s\n", e.msg);
    return HULL_EXIT_ERROR;
  }
  c.o.progress = progress_new(STDERR_FILENO, c.quiet);
  char digest[HULL_DIGEST_MAX];
  int r = registry_push(s, argv[i], argc - i == 2 ? argv[i + 1] : NULL, &c.o, digest, &e);
  progress_free(c.o.progress);
  store_close(s);
  if (r < 0) {
    fprintf(stderr, "hull: push %s: %s\n", argv[i], e.msg);
    return HULL_EXIT_ERROR;
  }
  if (!c.quiet)
    printf("%s\n", digest);
  return 0;
}
