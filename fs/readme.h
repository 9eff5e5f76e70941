/*
 * readme.h - the text of /README.
 */
#ifndef IPAMFS_README_H
#define IPAMFS_README_H

/* The parts of /README, in order, then NULL. */
extern const char *const ipamfs_readme[];

#endif
