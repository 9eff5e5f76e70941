/*
 * readme.h - the text of /README.
 */
#ifndef IPAMFS_README_H
#define IPAMFS_README_H

extern const char ipamfs_readme[];

#endif
