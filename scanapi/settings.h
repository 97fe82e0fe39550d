/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serve's settings: one table gives each its name (the flag and the
 * configuration file's key), type, bounds, default and help, and the
 * flags, the file, --help and the man page all come from it.
 */
#ifndef API_SETTINGS_H
#define API_SETTINGS_H

#include <stdio.h>

#include "routes.h"

#define API_CONFIG_MAX	(64 * 1024)	/* a configuration file, bytes */

/* Where the installed program finds its pages and data by default. */
struct api_paths {
	char	web[4096], assets[4096], regions[4096];
};

/*
 * Finds the data beside the program: PREFIX/share/yima when the program
 * runs from PREFIX/bin, else the source tree the program was built in
 * (build/yima-scanapi: scanapi/web, assets/web, assets/regions.txt).
 */
void api_paths_find(struct api_paths *p);

/* Every setting at its default; p gives the data paths. */
void api_settings_defaults(struct api_config *cfg, const struct api_paths *p);

/*
 * Reads a configuration file of "key = value" lines ('#' comments; a key
 * once) into cfg. Its text is kept in *text (free it after cfg). 0, or -1
 * with why naming the file and line; cfg may then be half set.
 */
int api_settings_file(struct api_config *cfg, const char *path, char **text,
    char *why);

/* What serve's arguments ask for. */
enum api_serve_mode { API_SERVE_RUN, API_SERVE_HELP, API_SERVE_CHECK };

/*
 * Parses serve's arguments over cfg (--config's file is read apart, by
 * api_settings_file); *mode: run, --help, or --check (test the settings
 * and exit). 0, or -1 with why.
 */
int api_settings_args(struct api_config *cfg, int argc, char **argv,
    enum api_serve_mode *mode, char *why);

/* Finds --config FILE among the arguments first (flags win over it). */
const char *api_settings_config_arg(int argc, char **argv);

/* Copies the settings a reload may change from src to dst. */
void api_settings_live(struct api_config *dst, const struct api_config *src);

/* The options' part of --help, from the table. */
void api_settings_usage(FILE *f);

#endif /* API_SETTINGS_H */
