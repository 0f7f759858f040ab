/* mountstorm: K container launches released at once, each doing the real
 * mount syscall sequence of one container-runtime variant with L image layers
 * (containerd's overlay snapshotter with idmapped layers, containerd PR #10722
 * and the common-parent fix, PR #12187). Measures what the simulator models:
 * how the global mount locks (namespace_sem, mount_lock) serialize concurrent
 * launches.
 *
 * Mount propagation (--propagation shared|private [--peers N]): the tmpfs that
 * holds the layers and the bind targets is made shared (as systemd makes `/`
 * rshared at boot, and containerd keeps snapshots and tmpmounts on it) or
 * private, and mount_setattr leaves propagation unchanged (containerd 2.0/2.1
 * IDMapMount, attr.Propagation = 0). Then open_tree(OPEN_TREE_CLONE) ->
 * __do_loopback -> clone_mnt(old, dentry, 0) puts every clone in the tmpfs's
 * peer group, move_mount onto the shared tmpfs runs propagate_mnt over that
 * group, and umount runs propagate_umount over it and takes the clone out of
 * the ring (fs/namespace.c, fs/pnode.c). --peers N binds the layer directory N
 * times first: a peer group of N that the storm's clones join.
 *
 * Mountinfo reader (--reader slave|private [--read-size B] [--idle-reads R]):
 * a child process in its own mount namespace, made MS_SLAVE|MS_REC (as runc's
 * prepareRoot does, and systemd services with ProtectSystem) or
 * MS_PRIVATE|MS_REC, re-reads /proc/self/mountinfo with read() calls of B
 * bytes: R times before the storm (idle), then until the storm ends. In a slave
 * namespace show_mountinfo calls get_dominating_id for every slave line, which
 * walks the master's peer ring. Each full read (open to close) is reported.
 *
 * Safety: everything happens in a private mount namespace of this process, on
 * a tmpfs mounted inside it over --base. When the process dies for any reason,
 * even SIGKILL, the kernel tears the namespace down with every mount in it; the
 * host namespace never sees a mount, and no directory is created on the host.
 *
 * Output: a JSON summary on stdout; with --trace FILE, every operation in the
 * locksim trace format (JSON Lines, docs/trace-format.md).
 * Exit codes: 0 ok, 1 a mount operation failed, 2 usage, 3 no privilege,
 * 4 the kernel lacks a needed feature (idmapped mounts, overlay lowerdir+).
 *
 * The probe dies with its parent (PR_SET_PDEATHSIG), and so does the reader.
 *
 * usage: mountstorm --variant V [--layers L] [--containers K] [--trace FILE]
 *                   [--base DIR] [--check-idmap]
 *                   [--propagation shared|private] [--peers N] [--idle-mounts N]
 *                   [--reader slave|private] [--read-size B] [--idle-reads R]
 *                   [--umount-detach] [--unmount-inspection] [--processes]
 *
 * --processes: one process per container, forked by this process one after
 * another at the release (as a runtime starts one shim per container),
 * instead of threads created before it. Each container's latency still counts
 * from the release, so it includes waiting for its fork; each child records
 * when it started running (forkedNs, and forked_ns in the trace). The JSON
 * also gives each process's page faults, the CPU its exit took after its
 * last op (processExitCpuNs: wait4's utime + stime less its own CPU clock at
 * its end), the forking thread's CPU over the fork loop (forkLoopCpuNs), and
 * what each child had spent before it ran its own code (processStartCpuNs,
 * its CPU clock then, and processStartFaults, its page faults then): the
 * kernel's side of its start (ret_from_fork, the copy-on-write faults of
 * fork()'s return path in libc), which the child pays on its own CPU while
 * the parent goes on forking. forkToChildNs: before the release, a fork's
 * time until its child runs, with the other CPU idle and with it running
 * (what page-table work costs beside a busy vCPU; see fork_beside_busy).
 *
 * --unmount-inspection: after pass 1 each container unmounts pass 1's overlay
 * (the rootfs mounted to read the image's users, then unmounted by
 * containerd's mount.WithTempMount), as a runtime does; without it the pass-1
 * overlay stays mounted until the probe's namespace goes.
 */
#include "common.h"
#include "transfer.h"
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

/* New mount API constants, for C libraries older than the kernel interface. */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
/* enum fsconfig_command values from linux/mount.h */
#define MS_FSCONFIG_SET_STRING 1
#define MS_FSCONFIG_SET_FD 5
#define MS_FSCONFIG_CMD_CREATE 6
#ifndef __NR_open_tree
#define __NR_open_tree 428
#endif
#ifndef __NR_move_mount
#define __NR_move_mount 429
#endif
#ifndef __NR_fsopen
#define __NR_fsopen 430
#endif
#ifndef __NR_fsconfig
#define __NR_fsconfig 431
#endif
#ifndef __NR_fsmount
#define __NR_fsmount 432
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif

/* struct mount_attr, own name to avoid clashing with libc's definition. */
struct idmap_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int sys_open_tree(const char *path, unsigned flags) {
    return (int)syscall(__NR_open_tree, AT_FDCWD, path, flags);
}
/* MS_PRIVATE, as containerd >= 2.3 (IDMapMountWithAttrs) sets it, which makes
 * mount_setattr take namespace_sem for write; 0 (propagation unchanged, the
 * clone stays in its source's peer group) as containerd 2.0/2.1's IDMapMount
 * does, chosen by --propagation. */
static uint64_t setattr_propagation = MS_PRIVATE;
static int sys_mount_setattr_idmap(int fd, int userns_fd) {
    struct idmap_attr a = {.attr_set = MOUNT_ATTR_IDMAP, .propagation = setattr_propagation, .userns_fd = (uint64_t)userns_fd};
    return (int)syscall(__NR_mount_setattr, fd, "", AT_EMPTY_PATH, &a, sizeof a);
}
static int sys_move_mount(int fd, const char *to) {
    return (int)syscall(__NR_move_mount, fd, "", AT_FDCWD, to, MOVE_MOUNT_F_EMPTY_PATH);
}
static int sys_fsopen(const char *fs) { return (int)syscall(__NR_fsopen, fs, FSOPEN_CLOEXEC); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) {
    return (int)syscall(__NR_fsconfig, fd, cmd, key, value, aux);
}
static int sys_fsmount(int fd) { return (int)syscall(__NR_fsmount, fd, FSMOUNT_CLOEXEC, 0); }

enum variant { V_PER_LAYER, V_COMMON_PARENT, V_COMMON_PARENT_ONE_PASS, V_FSCONFIG_LOWERDIR_PLUS, V_SHIFTED_UNTAR };
static const char *variant_names[] = {"per-layer-idmap", "common-parent", "common-parent-one-pass",
                                      "fsconfig-lowerdir-plus", "shifted-untar"};

enum op { OP_OPEN_TREE, OP_MOUNT_SETATTR, OP_MOVE_MOUNT, OP_MOUNT_OVERLAY, OP_UMOUNT, OP_FSOPEN, OP_FSCONFIG,
          OP_FSMOUNT, OP_CLOSE_TREE, OP_MOUNT_PLAIN, OP_UMOUNT_OVERLAY, OP_COUNT };
static const char *op_names[] = {"open_tree", "mount_setattr", "move_mount", "mount_overlay", "umount",
                                 "fsopen",    "fsconfig",      "fsmount",    "close_tree",    "mount_plain",
                                 "umount_overlay"};

#define PATH_LEN 128
struct op_record {
    uint8_t op, pass;
    int16_t layer; /* -1: the op is not about one layer */
    uint64_t start_ns, dur_ns;
    uint64_t cpu_ns; /* the thread's CPU time over the op, when op_cpu_time */
    int tid;
    char path[PATH_LEN];
};

struct container {
    int index; /* 1-based, printed as c0001 */
    pthread_t thread;
    struct op_record *ops;
    size_t nops, cap;
    uint64_t done_ns; /* end of the last operation, relative to the release */
    uint64_t forked_ns; /* --processes: when the container's process started running, relative to the release */
    long faults; /* --processes: page faults the container's process took, from its fork to its exit (getrusage) */
    uint64_t end_cpu_ns; /* --processes: the process's CPU time when its last op was done (its one thread's CPU clock) */
    uint64_t start_cpu_ns; /* --processes: the process's CPU time when it started running its own code (its fork's return, in the child) */
    long start_faults; /* --processes: its page faults by then */
    uint64_t exit_cpu_ns; /* --processes: CPU its exit took: wait4's utime + stime less end_cpu_ns (the mm's teardown, files, ...) */
    char error[256];
};

static enum variant variant = V_PER_LAYER;
static int layers = 50, containers = 1;
static const char *base = "/tmp";
static int userns_fd = -1;
static uint64_t release_ns;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int ready_count, released;

enum propagation_mode { PROP_LEGACY, PROP_SHARED, PROP_PRIVATE };
static enum propagation_mode propagation = PROP_LEGACY;
static const char *propagation_names[] = {"legacy", "shared", "private"};
static int peers = 0;
/* --idle-mounts N: N plain binds made before the storm beside its bind
 * targets (children of the same tmpfs mount), never touched again. They
 * lengthen the child list that open_tree's has_locked_children walks without
 * adding any lock traffic: the walk's cost per mount against the list's
 * length, measured with one container. */
static int idle_mounts = 0;
/* 0: umount2 checks the mount is not busy, which walks the parent's
 * propagation tree once more (propagate_mount_busy) inside mount_lock;
 * MNT_DETACH (--umount-detach), as containerd unmounts, skips that check. */
static int umount_flags = 0;
static int unmount_inspection = 0;
static int process_mode = 0;


/* The mountinfo reader: a forked child writing its reads into shared memory. */
enum reader_mode { READER_NONE, READER_SLAVE, READER_PRIVATE };
static enum reader_mode reader = READER_NONE;
static const char *reader_names[] = {"none", "slave", "private"};
static long read_size = 4096;
static int idle_reads = 5;
#define MAX_READS 20000
struct read_record {
    uint64_t start_ns, dur_ns, cpu_ns, bytes;
    uint32_t syscalls, lines;
};
struct reader_shared {
    _Atomic int state; /* 0 setup, 1 idle reads done, 2 storm running, 3 storm over, 4 reader done */
    _Atomic int count;
    int error; /* errno of a failed setup step, 0 if none */
    char error_what[64];
    struct read_record reads[MAX_READS];
};
static struct reader_shared *rs;

static void fail_exit(int code, const char *fmt, const char *arg, int err) {
    fprintf(stderr, "mountstorm: ");
    fprintf(stderr, fmt, arg);
    if (err) fprintf(stderr, ": %s", strerror(err));
    fputc('\n', stderr);
    exit(code);
}

static void xmkdir(const char *path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST) fail_exit(1, "mkdir %s", path, errno);
}

/* The calling thread's CPU time: an op's or a read's work without the time it
 * waited for a cpu (other jobs share this machine), slept on namespace_sem or
 * waited for an RCU grace period after dropping the locks (umount). Costs a
 * real syscall (no vDSO for thread clocks), so ops are CPU-timed only with
 * --propagation, leaving the original storm's timing as it was. */
static int op_cpu_time = 0;
static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Runs one syscall and records it; returns the syscall's result. */
#define TIMED(c, opcode, pass_no, layer_no, path_str, call)                                                  \
    ({                                                                                                       \
        uint64_t c0_ = op_cpu_time ? thread_cpu_ns() : 0;                                                    \
        uint64_t t0_ = now_ns();                                                                             \
        long r_ = (call);                                                                                    \
        int e_ = errno;                                                                                      \
        uint64_t t1_ = now_ns();                                                                             \
        uint64_t c1_ = op_cpu_time ? thread_cpu_ns() : 0;                                                    \
        record((c), (opcode), (pass_no), (layer_no), (path_str), t0_, t1_, c1_ - c0_);                       \
        if (r_ < 0) {                                                                                        \
            snprintf((c)->error, sizeof (c)->error, "%s (pass %d, layer %d, %s): %s", op_names[opcode],      \
                     (pass_no), (layer_no), (path_str), strerror(e_));                                       \
        }                                                                                                    \
        r_;                                                                                                  \
    })

static void record(struct container *c, int op, int pass, int layer, const char *path, uint64_t t0, uint64_t t1, uint64_t cpu) {
    /* A child process cannot grow memory its parent reads: its records were sized before the fork. */
    if (c->nops == c->cap && process_mode) fail_exit(1, "%s", "more ops than a container was given room for", 0);
    if (c->nops == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->ops = realloc(c->ops, c->cap * sizeof *c->ops);
        if (!c->ops) fail_exit(1, "%s", "out of memory for the trace", 0);
    }
    struct op_record *r = &c->ops[c->nops++];
    r->op = (uint8_t)op;
    r->pass = (uint8_t)pass;
    r->layer = (int16_t)layer;
    r->start_ns = t0 - release_ns;
    r->dur_ns = t1 - t0;
    r->cpu_ns = cpu;
    r->tid = (int)syscall(SYS_gettid);
    snprintf(r->path, PATH_LEN, "%s", path ? path : "");
    c->done_ns = t1 - release_ns;
}

static void layer_path(char *out, int layer) { snprintf(out, PATH_LEN, "%s/img/l%d", base, layer); }
static void pass_dir(char *out, const struct container *c, int pass, const char *leaf) {
    snprintf(out, PATH_LEN, "%s/c%04d/p%d/%s", base, c->index, pass, leaf);
}

/* Overlay options with the lower layers top-first, as overlayfs wants them.
 * Layer i is the i-th lowerdir from the top (containerd's order of snapshot
 * parents), so layer 0 is the topmost and layer L-1 the base image. */
static void overlay_options(char *out, size_t cap, const struct container *c, int pass, const char *lower_dir_fmt) {
    size_t n = (size_t)snprintf(out, cap, "lowerdir=");
    for (int i = 0; i < layers; i++) {
        char p[PATH_LEN];
        if (lower_dir_fmt[0] == 'i') layer_path(p, i); /* image layers directly */
        else {
            char leaf[32];
            snprintf(leaf, sizeof leaf, lower_dir_fmt, i);
            pass_dir(p, c, pass, leaf);
        }
        n += (size_t)snprintf(out + n, cap - n, "%s%s", p, i < layers - 1 ? ":" : "");
    }
    char up[PATH_LEN], wk[PATH_LEN];
    pass_dir(up, c, pass, "upper");
    pass_dir(wk, c, pass, "work");
    snprintf(out + n, cap - n, ",upperdir=%s,workdir=%s", up, wk);
}

/* Room for the options of up to 400 layers (main's limit) of PATH_LEN paths. */
#define OPTS_LEN (400 * (PATH_LEN + 1) + 3 * PATH_LEN)

/* Byte order of two strings given by start and length. */
static int span_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

/* The overlay mount as containerd makes it (core/mount/mount_linux.go,
 * Mount.mount and mountAt): mount(2) copies at most one page of options
 * (copy_mount_options), so options of a page less 512 bytes or more have
 * their lowerdirs made relative to the directory holding them all
 * (compactLowerdirOption: the longest common prefix, cut back to a
 * directory), and the mount runs with that directory as its working
 * directory, in a thread that unshared its fs_struct (CLONE_FS) so that the
 * other containers' threads keep theirs. Without it, 100 layers under a
 * 31-character --base were cut off mid-path and every overlay mount failed
 * with ENOENT. Only the mount itself is timed, as in every other op. */
static int overlay_mount(struct container *c, int pass, const char *root, const char *opts) {
    static __thread int own_fs = 0;
    long page = sysconf(_SC_PAGESIZE);
    if ((long)strlen(opts) < page - 512)
        return TIMED(c, OP_MOUNT_OVERLAY, pass, -1, root, mount("overlay", root, "overlay", 0, opts)) < 0 ? -1 : 0;
    /* opts is "lowerdir=A:B:...,upperdir=U,workdir=W" (overlay_options). */
    const char *lower = opts + strlen("lowerdir="), *end = strchr(lower, ',');
    const char *lo = NULL, *hi = NULL;
    size_t lo_len = 0, hi_len = 0;
    for (const char *d = lower; d < end;) {
        const char *e = memchr(d, ':', (size_t)(end - d));
        if (!e) e = end;
        size_t n = (size_t)(e - d);
        /* The common prefix of all is that of the first and last in byte order. */
        if (!lo || span_cmp(d, n, lo, lo_len) < 0) lo = d, lo_len = n;
        if (!hi || span_cmp(d, n, hi, hi_len) > 0) hi = d, hi_len = n;
        d = e + 1;
    }
    size_t common = 0;
    while (common < lo_len && common < hi_len && lo[common] == hi[common]) common++;
    while (common > 0 && lo[common - 1] != '/') common--; /* back to a directory */
    char dir[PATH_LEN], compact[OPTS_LEN];
    if (common < 2 || common > sizeof dir) {
        snprintf(c->error, sizeof c->error, "mount_overlay (pass %d): options of %zu bytes with no common lower directory", pass, strlen(opts));
        return -1;
    }
    snprintf(dir, common, "%s", lo); /* without its trailing '/' */
    size_t n = (size_t)snprintf(compact, sizeof compact, "lowerdir=");
    for (const char *d = lower; d < end;) {
        const char *e = memchr(d, ':', (size_t)(end - d));
        if (!e) e = end;
        n += (size_t)snprintf(compact + n, sizeof compact - n, "%.*s%s", (int)(e - d - common), d + common, e < end ? ":" : "");
        d = e + 1;
    }
    snprintf(compact + n, sizeof compact - n, "%s", end);
    if ((long)strlen(compact) >= page) {
        snprintf(c->error, sizeof c->error, "mount_overlay (pass %d): options of %zu bytes even with relative lowerdirs", pass, strlen(compact));
        return -1;
    }
    if (!own_fs) {
        if (unshare(CLONE_FS) != 0) {
            snprintf(c->error, sizeof c->error, "unshare(CLONE_FS) for a relative overlay mount: %s", strerror(errno));
            return -1;
        }
        own_fs = 1;
    }
    if (chdir(dir) != 0) {
        snprintf(c->error, sizeof c->error, "chdir %s for a relative overlay mount: %s", dir, strerror(errno));
        return -1;
    }
    int r = TIMED(c, OP_MOUNT_OVERLAY, pass, -1, root, mount("overlay", root, "overlay", 0, compact)) < 0 ? -1 : 0;
    /* containerd's thread exits with its working directory; ours leaves it,
     * or the common-parent bind it sits in could not be unmounted (EBUSY). */
    if (chdir("/") != 0 && r == 0) {
        snprintf(c->error, sizeof c->error, "chdir / after a relative overlay mount: %s", strerror(errno));
        return -1;
    }
    return r;
}

static int pass_per_layer(struct container *c, int pass) {
    char src[PATH_LEN], dst[PATH_LEN], leaf[32];
    for (int i = 0; i < layers; i++) {
        layer_path(src, i);
        snprintf(leaf, sizeof leaf, "b/l%d", i);
        pass_dir(dst, c, pass, leaf);
        int fd = (int)TIMED(c, OP_OPEN_TREE, pass, i, src, sys_open_tree(src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
        if (fd < 0) return -1;
        if (TIMED(c, OP_MOUNT_SETATTR, pass, i, src, sys_mount_setattr_idmap(fd, userns_fd)) < 0) return -1;
        if (TIMED(c, OP_MOVE_MOUNT, pass, i, dst, sys_move_mount(fd, dst)) < 0) return -1;
        close(fd); /* the tree is attached now, so closing it unmounts nothing */
    }
    char opts[OPTS_LEN], root[PATH_LEN];
    overlay_options(opts, sizeof opts, c, pass, "b/l%d");
    pass_dir(root, c, pass, "root");
    if (overlay_mount(c, pass, root, opts) < 0) return -1;
    /* The overlay keeps private clones of its lower layers, so the idmapped
     * binds can go; this is the second half of the O(L) mount work. */
    for (int i = 0; i < layers; i++) {
        snprintf(leaf, sizeof leaf, "b/l%d", i);
        pass_dir(dst, c, pass, leaf);
        if (TIMED(c, OP_UMOUNT, pass, i, dst, umount2(dst, umount_flags)) < 0) return -1;
    }
    return 0;
}

static int pass_common_parent(struct container *c, int pass) {
    char src[PATH_LEN], dst[PATH_LEN], opts[OPTS_LEN], root[PATH_LEN];
    snprintf(src, PATH_LEN, "%s/img", base);
    pass_dir(dst, c, pass, "parent");
    int fd = (int)TIMED(c, OP_OPEN_TREE, pass, -1, src, sys_open_tree(src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (fd < 0) return -1;
    if (TIMED(c, OP_MOUNT_SETATTR, pass, -1, src, sys_mount_setattr_idmap(fd, userns_fd)) < 0) return -1;
    if (TIMED(c, OP_MOVE_MOUNT, pass, -1, dst, sys_move_mount(fd, dst)) < 0) return -1;
    close(fd);
    overlay_options(opts, sizeof opts, c, pass, "parent/l%d");
    pass_dir(root, c, pass, "root");
    if (overlay_mount(c, pass, root, opts) < 0) return -1;
    if (TIMED(c, OP_UMOUNT, pass, -1, dst, umount2(dst, umount_flags)) < 0) return -1;
    return 0;
}

/* An overlay straight on the image layers, with no idmap: the inspection pass
 * of containerd 2.3, or the whole launch of a runtime that shifted uids at
 * untar time. Still an overlay mount (mount_overlay), as in
 * src/workload/generators.ts; mount_plain is for mounts of other kinds. */
static int pass_plain_overlay(struct container *c, int pass) {
    char opts[OPTS_LEN], root[PATH_LEN];
    overlay_options(opts, sizeof opts, c, pass, "img");
    pass_dir(root, c, pass, "root");
    if (overlay_mount(c, pass, root, opts) < 0) return -1;
    return 0;
}

static int pass_fsconfig(struct container *c, int pass) {
    char src[PATH_LEN], root[PATH_LEN], up[PATH_LEN], wk[PATH_LEN];
    int fds[4096];
    for (int i = 0; i < layers; i++) {
        layer_path(src, i);
        fds[i] = (int)TIMED(c, OP_OPEN_TREE, pass, i, src, sys_open_tree(src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
        if (fds[i] < 0) return -1;
        if (TIMED(c, OP_MOUNT_SETATTR, pass, i, src, sys_mount_setattr_idmap(fds[i], userns_fd)) < 0) return -1;
    }
    pass_dir(root, c, pass, "root");
    pass_dir(up, c, pass, "upper");
    pass_dir(wk, c, pass, "work");
    int fs = (int)TIMED(c, OP_FSOPEN, pass, -1, "", sys_fsopen("overlay"));
    if (fs < 0) return -1;
    /* lowerdir+ appends one layer per call, topmost (layer 0) first; the layer
     * is given as the detached idmapped tree's fd, never attached anywhere. */
    for (int i = 0; i < layers; i++) {
        layer_path(src, i);
        if (TIMED(c, OP_FSCONFIG, pass, i, src, sys_fsconfig(fs, MS_FSCONFIG_SET_FD, "lowerdir+", NULL, fds[i])) < 0)
            return -1;
    }
    if (TIMED(c, OP_FSCONFIG, pass, -1, up, sys_fsconfig(fs, MS_FSCONFIG_SET_STRING, "upperdir", up, 0)) < 0) return -1;
    if (TIMED(c, OP_FSCONFIG, pass, -1, wk, sys_fsconfig(fs, MS_FSCONFIG_SET_STRING, "workdir", wk, 0)) < 0) return -1;
    if (TIMED(c, OP_FSCONFIG, pass, -1, "", sys_fsconfig(fs, MS_FSCONFIG_CMD_CREATE, NULL, NULL, 0)) < 0) return -1;
    int mfd = (int)TIMED(c, OP_FSMOUNT, pass, -1, root, sys_fsmount(fs));
    if (mfd < 0) return -1;
    close(fs);
    /* The overlay itself still has to be attached where the runtime expects
     * the rootfs: one move_mount per pass instead of one per layer. */
    if (TIMED(c, OP_MOVE_MOUNT, pass, -1, root, sys_move_mount(mfd, root)) < 0) return -1;
    close(mfd);
    /* Closing a still-detached tree dissolves it under namespace_sem. */
    for (int i = 0; i < layers; i++) {
        layer_path(src, i);
        if (TIMED(c, OP_CLOSE_TREE, pass, i, src, close(fds[i])) < 0) return -1;
    }
    return 0;
}

/* Pass 1's overlay (the inspection mount) unmounted, as WithTempMount does
 * when its function returns. Variants without a pass-1 overlay skip it. */
static int unmount_pass1_overlay(struct container *c) {
    char root[PATH_LEN];
    pass_dir(root, c, 1, "root");
    return TIMED(c, OP_UMOUNT_OVERLAY, 1, -1, root, umount2(root, umount_flags)) < 0 ? -1 : 0;
}

/* One container's launch: the variant's passes. */
static void run_container(struct container *c) {
    switch (variant) {
    case V_PER_LAYER:
        if (pass_per_layer(c, 1) == 0 && (!unmount_inspection || unmount_pass1_overlay(c) == 0)) pass_per_layer(c, 2);
        break;
    case V_COMMON_PARENT:
        if (pass_common_parent(c, 1) == 0 && (!unmount_inspection || unmount_pass1_overlay(c) == 0)) pass_common_parent(c, 2);
        break;
    case V_COMMON_PARENT_ONE_PASS:
        if (pass_plain_overlay(c, 1) == 0 && (!unmount_inspection || unmount_pass1_overlay(c) == 0)) pass_common_parent(c, 2);
        break;
    case V_FSCONFIG_LOWERDIR_PLUS:
        if (pass_fsconfig(c, 1) == 0 && (!unmount_inspection || unmount_pass1_overlay(c) == 0)) pass_fsconfig(c, 2);
        break;
    case V_SHIFTED_UNTAR:
        pass_plain_overlay(c, 1);
        break;
    }
}

static void *container_main(void *arg) {
    struct container *c = arg;
    pthread_mutex_lock(&gate);
    ready_count++;
    pthread_cond_broadcast(&gate_cond);
    while (!released) pthread_cond_wait(&gate_cond, &gate);
    pthread_mutex_unlock(&gate);
    run_container(c);
    return NULL;
}

/* Memory the container processes write and this process reads. */
static void *shared_alloc(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) fail_exit(1, "%s", "mmap shared memory for the containers", errno);
    return p;
}

/* What one copy-on-write page fault costs a freshly forked process: a child
 * writes once to each of COW_PAGES pages its parent had written, timed; the
 * median of three children, ns per page. A container process pays this for
 * every page it writes first (its stack, libc's data, the op records): on a
 * shadow-paging guest each is an exit to the hypervisor (~15 us here, against
 * ~1 us on bare metal), which the model charges per process with the
 * process's own fault count. */
#define COW_PAGES 64
static double cow_fault_ns(void) {
    long page = sysconf(_SC_PAGESIZE);
    size_t bytes = (size_t)COW_PAGES * (size_t)page;
    char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return -1;
    uint64_t *per = shared_alloc(3 * sizeof *per);
    memset(buf, 1, bytes);
    double ns = -1;
    int rep = 0;
    for (; rep < 3; rep++) {
        pid_t pid = fork();
        if (pid < 0) break;
        if (pid == 0) {
            uint64_t t0 = now_ns();
            for (int i = 0; i < COW_PAGES; i++) buf[(size_t)i * (size_t)page] = 2;
            per[rep] = (now_ns() - t0) / COW_PAGES;
            _exit(0);
        }
        int st;
        if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) break;
    }
    if (rep == 3) {
        qsort(per, 3, sizeof *per, cmp_u64);
        ns = (double)per[1];
    }
    munmap(per, 3 * sizeof *per);
    munmap(buf, bytes);
    return ns;
}

/* What a fork costs while the other CPU runs: from the fork call until the
 * child runs its own code, both on cpu `a` (the parent waits for it), with
 * `b` idle and then with a thread spinning in user mode on `b`; medians of
 * FORK_REPS forks each, ns. On a shadow-paging guest the fork's and the
 * child's page-table work costs ~2.5x beside a running vCPU (the host's
 * TLB flushes kick a running vCPU and wait; a halted one costs nothing),
 * where a lone copy-on-write fault does not change. The caller's affinity
 * is restored. Returns 0, or -1 when a step failed. */
#define FORK_REPS 7
static volatile int fork_spin_stop;
static void *fork_spinner(void *arg) {
    pin_self(*(int *)arg);
    while (!fork_spin_stop) __asm__ volatile("" ::: "memory");
    return NULL;
}
static uint64_t fork_to_child_ns(void) {
    uint64_t *t = shared_alloc(sizeof *t);
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        munmap(t, sizeof *t);
        return 0;
    }
    if (pid == 0) {
        *t = now_ns();
        _exit(0);
    }
    int st;
    uint64_t ns = waitpid(pid, &st, 0) == pid && WIFEXITED(st) && *t > t0 ? *t - t0 : 0;
    munmap(t, sizeof *t);
    return ns;
}
static int fork_beside_busy(int a, int b, double *alone_ns, double *busy_ns) {
    cpu_set_t saved;
    if (sched_getaffinity(0, sizeof saved, &saved) != 0 || pin_self(a) != 0) return -1;
    uint64_t alone[FORK_REPS], busy[FORK_REPS];
    int ok = 1;
    for (int i = 0; i < FORK_REPS && ok; i++) ok = (alone[i] = fork_to_child_ns()) > 0;
    pthread_t spinner;
    fork_spin_stop = 0;
    if (ok && pthread_create(&spinner, NULL, fork_spinner, &b) == 0) {
        usleep(2000); /* the spinner is running on b */
        for (int i = 0; i < FORK_REPS && ok; i++) ok = (busy[i] = fork_to_child_ns()) > 0;
        fork_spin_stop = 1;
        pthread_join(spinner, NULL);
    } else ok = 0;
    sched_setaffinity(0, sizeof saved, &saved);
    if (!ok) return -1;
    qsort(alone, FORK_REPS, sizeof *alone, cmp_u64);
    qsort(busy, FORK_REPS, sizeof *busy, cmp_u64);
    *alone_ns = (double)alone[FORK_REPS / 2];
    *busy_ns = (double)busy[FORK_REPS / 2];
    return 0;
}

static int passes_of(enum variant v) { return v == V_SHIFTED_UNTAR ? 1 : 2; }

/* A user namespace whose mapping becomes the idmap: a child unshares
 * CLONE_NEWUSER and waits; we write its maps and keep /proc/PID/ns/user open,
 * which keeps the namespace alive after the child exits. */
static int make_userns(void) {
    int up[2], down[2];
    if (pipe(up) || pipe(down)) fail_exit(1, "%s", "pipe", errno);
    pid_t pid = fork();
    if (pid < 0) fail_exit(1, "%s", "fork", errno);
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        char ok = unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        if (write(up[1], &ok, 1) != 1) _exit(1);
        char b;
        /* Returns when the parent closes its end, or dies. */
        while (read(down[0], &b, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    char ok = 0;
    if (read(up[0], &ok, 1) != 1 || ok != 'y') fail_exit(4, "%s", "cannot create a user namespace for the idmap", 0);
    char path[64];
    const char *map = "0 100000 65536\n";
    const char *files[] = {"uid_map", "gid_map"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, files[i]);
        int fd = open(path, O_WRONLY);
        if (fd < 0 || write(fd, map, strlen(map)) < 0) fail_exit(4, "write %s", path, errno);
        close(fd);
    }
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    int nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) fail_exit(4, "open %s", path, errno);
    close(down[1]);
    close(up[0]);
    waitpid(pid, NULL, 0);
    return nsfd;
}


/* One full read of /proc/self/mountinfo, open to close, with read() calls of
 * read_size bytes: the seq_file takes namespace_sem for read in m_start and
 * drops it in m_stop, so every read() call queues for it again. */
static int read_mountinfo_once(char *buf, struct read_record *r) {
    uint64_t c0 = thread_cpu_ns();
    uint64_t t0 = now_ns();
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    uint64_t bytes = 0;
    uint32_t calls = 0, lines = 0;
    for (;;) {
        ssize_t n = read(fd, buf, (size_t)read_size);
        calls++;
        if (n < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        if (n == 0) break;
        bytes += (uint64_t)n;
        for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
    }
    close(fd);
    r->start_ns = t0;
    r->dur_ns = now_ns() - t0;
    r->cpu_ns = thread_cpu_ns() - c0;
    r->bytes = bytes;
    r->syscalls = calls;
    r->lines = lines;
    return 0;
}

static void reader_fail(const char *what, int err) {
    rs->error = err ? err : EINVAL;
    snprintf(rs->error_what, sizeof rs->error_what, "%s", what);
    atomic_store(&rs->state, 4);
    _exit(1);
}

static void reader_record(char *buf) {
    int i = atomic_load(&rs->count);
    if (i >= MAX_READS) { /* the record is full: stop reading, wait for the storm's end without spinning */
        usleep(1000);
        return;
    }
    if (read_mountinfo_once(buf, &rs->reads[i]) != 0) reader_fail("read /proc/self/mountinfo", errno);
    atomic_store(&rs->count, i + 1);
}

/* The reader child: its own mount namespace, made slave or private, copied
 * from the probe's namespace after the peers exist (so it holds a slave copy
 * of each). Reads R times idle, then while the storm runs, and exits. */
static pid_t start_reader(void) {
    rs = mmap(NULL, sizeof *rs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rs == MAP_FAILED) fail_exit(1, "%s", "mmap for the reader", errno);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) fail_exit(1, "%s", "fork the reader", errno);
    if (pid > 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    char *buf = malloc((size_t)read_size);
    if (!buf) reader_fail("malloc", ENOMEM);
    if (unshare(CLONE_NEWNS) != 0) reader_fail("unshare(CLONE_NEWNS)", errno);
    unsigned long how = MS_REC | (reader == READER_SLAVE ? MS_SLAVE : MS_PRIVATE);
    if (mount(NULL, "/", NULL, how, NULL) != 0) reader_fail("make the reader's / slave or private", errno);
    for (int i = 0; i < idle_reads; i++) reader_record(buf);
    atomic_store(&rs->state, 1);
    while (atomic_load(&rs->state) < 2) usleep(200);
    while (atomic_load(&rs->state) == 2) reader_record(buf);
    atomic_store(&rs->state, 4);
    _exit(0);
}

/* n bind mounts of the layer directory under base/dir: with --peers each is
 * a peer of the shared tmpfs; with --idle-mounts just a child of it. */
static void make_binds(const char *dir, int n) {
    char p[PATH_LEN], src[PATH_LEN];
    snprintf(p, PATH_LEN, "%s/%s", base, dir);
    xmkdir(p);
    snprintf(src, PATH_LEN, "%s/img", base);
    for (int i = 0; i < n; i++) {
        snprintf(p, PATH_LEN, "%s/%s/p%d", base, dir, i);
        xmkdir(p);
        if (mount(src, p, NULL, MS_BIND, NULL) != 0) fail_exit(1, "bind peer %s", p, errno);
    }
}

/* The peer group id of the mount at `path` in /proc/self/mountinfo (0 if not
 * shared): checks that the setup did what it claims. */
static int shared_group_of(const char *path) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return -1;
    char line[4096];
    int group = 0;
    while (fgets(line, sizeof line, f)) {
        char mp[PATH_LEN * 2];
        if (sscanf(line, "%*d %*d %*s %*s %255s", mp) != 1 || strcmp(mp, path)) continue;
        char *s = strstr(line, " shared:");
        group = s ? atoi(s + 8) : 0;
    }
    fclose(f);
    return group;
}

static void make_tree(void) {
    char p[PATH_LEN], q[PATH_LEN + 16];
    snprintf(p, PATH_LEN, "%s/img", base);
    xmkdir(p);
    for (int i = 0; i < layers; i++) {
        layer_path(p, i);
        xmkdir(p);
        /* one file per layer, so a merged rootfs shows every layer */
        snprintf(q, sizeof q, "%s/f%d", p, i);
        int fd = open(q, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) fail_exit(1, "create %s", q, errno);
        close(fd);
    }
    for (int k = 1; k <= containers; k++) {
        struct container c = {.index = k};
        snprintf(p, PATH_LEN, "%s/c%04d", base, k);
        xmkdir(p);
        for (int pass = 1; pass <= passes_of(variant); pass++) {
            const char *leaves[] = {"", "root", "upper", "work", "parent", "b"};
            for (size_t j = 0; j < sizeof leaves / sizeof *leaves; j++) {
                pass_dir(p, &c, pass, leaves[j]);
                xmkdir(p);
            }
            if (variant == V_PER_LAYER)
                for (int i = 0; i < layers; i++) {
                    char leaf[32];
                    snprintf(leaf, sizeof leaf, "b/l%d", i);
                    pass_dir(p, &c, pass, leaf);
                    xmkdir(p);
                }
        }
    }
}

/* Tries one idmapped bind of the first layer, untraced: tells "the kernel or
 * filesystem cannot do this" apart from a failure under load. */
static void check_idmap(void) {
    char src[PATH_LEN], dst[PATH_LEN];
    layer_path(src, 0);
    snprintf(dst, PATH_LEN, "%s/check", base);
    xmkdir(dst);
    int fd = sys_open_tree(src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0) fail_exit(4, "%s", "open_tree(OPEN_TREE_CLONE) unsupported", errno);
    if (sys_mount_setattr_idmap(fd, userns_fd) < 0) fail_exit(4, "%s", "idmapped mounts unsupported (mount_setattr MOUNT_ATTR_IDMAP)", errno);
    if (sys_move_mount(fd, dst) < 0) fail_exit(4, "%s", "move_mount of an idmapped tree failed", errno);
    close(fd);
    if (umount2(dst, 0) < 0) fail_exit(4, "%s", "umount of an idmapped bind failed", errno);
    rmdir(dst);
}

static void check_lowerdir_plus(void) {
    char src[PATH_LEN];
    layer_path(src, 0);
    int tree = sys_open_tree(src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    int fs = sys_fsopen("overlay");
    if (tree < 0 || fs < 0) fail_exit(4, "%s", "fsopen(\"overlay\") unsupported", errno);
    if (sys_fsconfig(fs, MS_FSCONFIG_SET_FD, "lowerdir+", NULL, tree) < 0)
        fail_exit(4, "%s", "variant fsconfig-lowerdir-plus needs overlayfs lowerdir+ with file descriptors (kernel >= 6.15)", errno);
    close(fs);
    close(tree);
}

static void print_usage(void) {
    printf("usage: mountstorm --variant per-layer-idmap|common-parent|common-parent-one-pass|"
           "fsconfig-lowerdir-plus|shifted-untar [--layers L] [--containers K] [--trace FILE] [--base DIR] "
           "[--check-idmap] [--propagation shared|private] [--peers N] [--idle-mounts N] [--reader slave|private] "
           "[--read-size BYTES] [--idle-reads R] [--umount-detach] [--unmount-inspection] [--processes]\n");
}

/* Median duration of each operation kind that ran, over all containers, as
 * "name":ns pairs: what a per-peer cost is fitted from (an op's own time, not
 * the launch's queueing). `cpu` picks the thread's CPU time over the op
 * instead of its wall time. */
static void print_op_medians(const struct container *cs, const uint64_t *counts, int cpu) {
    int first = 1;
    for (int o = 0; o < OP_COUNT; o++) {
        if (!counts[o]) continue;
        uint64_t *d = malloc(counts[o] * sizeof *d);
        size_t n = 0;
        for (int k = 0; k < containers; k++)
            for (size_t i = 0; i < cs[k].nops; i++)
                if (cs[k].ops[i].op == o) d[n++] = cpu ? cs[k].ops[i].cpu_ns : cs[k].ops[i].dur_ns;
        qsort(d, n, sizeof *d, cmp_u64);
        printf("%s\"%s\":%llu", first ? "" : ",", op_names[o], (unsigned long long)percentile_sorted(d, n, 50));
        first = 0;
        free(d);
    }
}

int main(int argc, char **argv) {
    const char *prog = "mountstorm";
    const char *trace_path = NULL;
    int check_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            print_usage();
            return 0;
        }
        if (!strcmp(a, "--check-idmap")) {
            check_only = 1;
            continue;
        }
        if (!strcmp(a, "--umount-detach")) {
            umount_flags = MNT_DETACH;
            continue;
        }
        if (!strcmp(a, "--unmount-inspection")) {
            unmount_inspection = 1;
            continue;
        }
        if (!strcmp(a, "--processes")) {
            process_mode = 1;
            continue;
        }
        if (!v) die_usage(prog, "options other than --check-idmap, --umount-detach, --unmount-inspection and --processes take a value; see --help");
        if (!strcmp(a, "--variant")) {
            int found = 0;
            for (int j = 0; j < 5; j++)
                if (!strcmp(v, variant_names[j])) {
                    variant = (enum variant)j;
                    found = 1;
                }
            if (!found)
                die_usage(prog, "--variant: expected per-layer-idmap, common-parent, common-parent-one-pass, "
                                "fsconfig-lowerdir-plus or shifted-untar");
        } else if (!strcmp(a, "--layers")) layers = (int)parse_long_arg(prog, a, v, 1);
        else if (!strcmp(a, "--containers")) containers = (int)parse_long_arg(prog, a, v, 1);
        else if (!strcmp(a, "--trace")) trace_path = v;
        else if (!strcmp(a, "--base")) base = v;
        else if (!strcmp(a, "--propagation")) {
            if (!strcmp(v, "shared")) propagation = PROP_SHARED;
            else if (!strcmp(v, "private")) propagation = PROP_PRIVATE;
            else die_usage(prog, "--propagation: expected shared or private");
        } else if (!strcmp(a, "--peers")) peers = (int)parse_long_arg(prog, a, v, 0);
        else if (!strcmp(a, "--idle-mounts")) idle_mounts = (int)parse_long_arg(prog, a, v, 0);
        else if (!strcmp(a, "--reader")) {
            if (!strcmp(v, "slave")) reader = READER_SLAVE;
            else if (!strcmp(v, "private")) reader = READER_PRIVATE;
            else die_usage(prog, "--reader: expected slave or private");
        } else if (!strcmp(a, "--read-size")) read_size = parse_long_arg(prog, a, v, 1);
        else if (!strcmp(a, "--idle-reads")) idle_reads = (int)parse_long_arg(prog, a, v, 0);
        else {
            fprintf(stderr, "%s: unknown option %s; see --help\n", prog, a);
            return 2;
        }
        i++;
    }
    /* Overlay options must fit in one page (containerd #2497 hits this near 60
     * layers with long paths); our paths are short, so allow up to 400. */
    if (layers > 400) die_usage(prog, "--layers: at most 400");
    if (peers > 100000) die_usage(prog, "--peers: at most 100000");
    if (idle_mounts > 100000) die_usage(prog, "--idle-mounts: at most 100000");
    if (peers > 0 && propagation != PROP_SHARED) die_usage(prog, "--peers: needs --propagation shared (only a shared mount has peers)");
    if (read_size > (1 << 24)) die_usage(prog, "--read-size: at most 16777216");
    if (idle_reads > MAX_READS / 2) die_usage(prog, "--idle-reads: at most 10000");
    if (containers > 9999) die_usage(prog, "--containers: at most 9999");
    if (strlen(base) > 40) die_usage(prog, "--base: at most 40 characters, to keep paths within the probe's 128-byte records");
    /* Overlay options use ',' and ':' as separators and the trace is JSON, so
     * the base path is limited to characters that need no escaping anywhere. */
    if (base[0] != '/' || strspn(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-") != strlen(base))
        die_usage(prog, "--base: expected an absolute path of letters, digits, '/', '.', '_' or '-'");

    /* fsconfig-lowerdir-plus holds one fd per detached layer tree until its
     * overlay is mounted: L per container, K x L at once where the containers
     * are threads of this process. A runtime raises its limit for this
     * (containerd.service: LimitNOFILE=infinity); the probe raises its soft
     * limit to the hard one, and where even that is short says so before it
     * mounts anything, rather than failing mid-storm with EMFILE (a soft limit
     * of 1024 failed K=16 L=100). Every variant gets the raised limit. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
        if (nofile.rlim_cur < nofile.rlim_max) {
            nofile.rlim_cur = nofile.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) getrlimit(RLIMIT_NOFILE, &nofile);
        }
        rlim_t need = (rlim_t)(process_mode ? 1 : containers) * (rlim_t)layers + 64;
        if (variant == V_FSCONFIG_LOWERDIR_PLUS && nofile.rlim_cur != RLIM_INFINITY && need > nofile.rlim_cur) {
            fprintf(stderr, "mountstorm: fsconfig-lowerdir-plus holds %llu layer fds at once here (%s), over the open-file limit of %llu: raise it (ulimit -Hn, LimitNOFILE) or use --processes\n",
                    (unsigned long long)need - 64, process_mode ? "L per container process" : "K x L, the containers being threads", (unsigned long long)nofile.rlim_cur);
            return 4;
        }
    }

    /* Die with the parent (a killed `locksim measure`), so nothing outlives it:
     * the namespace, and every mount in it, goes with the last process. */
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) return 1;
    if (propagation != PROP_LEGACY) {
        setattr_propagation = 0;
        op_cpu_time = 1;
    }

    /* Open the trace before the tmpfs hides whatever directory it lives in. */
    FILE *trace = NULL;
    if (trace_path && !(trace = fopen(trace_path, "w"))) fail_exit(1, "cannot write trace %s", trace_path, errno);

    if (unshare(CLONE_NEWNS) != 0) {
        if (errno == EPERM) {
            fprintf(stderr, "mountstorm: needs root (CAP_SYS_ADMIN) for mount namespaces and idmapped mounts\n");
            return 3;
        }
        fail_exit(1, "%s", "unshare(CLONE_NEWNS)", errno);
    }
    /* Without this, mounts below a shared mount would propagate to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail_exit(1, "%s", "make / private", errno);
    if (mount("locksim-mountstorm", base, "tmpfs", 0, "mode=0755") != 0) fail_exit(1, "mount tmpfs on %s", base, errno);
    if (propagation == PROP_SHARED && mount(NULL, base, NULL, MS_SHARED, NULL) != 0)
        fail_exit(1, "make %s shared", base, errno);

    userns_fd = make_userns();
    make_tree();
    if (check_only || variant != V_SHIFTED_UNTAR) check_idmap();
    if (check_only) {
        printf("{\"probe\":\"mountstorm\",\"idmappedMounts\":true}\n");
        return 0;
    }
    if (variant == V_FSCONFIG_LOWERDIR_PLUS) check_lowerdir_plus();
    uint64_t peers_t0 = now_ns();
    if (peers) make_binds("peers", peers);
    uint64_t peers_setup_ns = now_ns() - peers_t0;
    if (idle_mounts) make_binds("idle", idle_mounts);
    int group = shared_group_of(base);
    if (propagation == PROP_SHARED && group <= 0) fail_exit(1, "%s", "the tmpfs did not become shared", 0);
    /* The one-way transfer between the first two CPUs before and after the
     * storm (transferNs): on a virtual machine the host places the vCPUs and
     * can move them (this project's 2-vCPU guest: 26-31 ns most of the time,
     * 124 ns for minutes), and every lock hand-off of the storm moves with it. */
    int tcpus[2], terr = 0;
    int two_cpus = allowed_cpus(tcpus, 2) >= 2;
    double transfer_before = two_cpus ? transfer_ns(tcpus[0], tcpus[1], 21, 200, &terr) : -1;

    pid_t reader_pid = 0;
    if (reader != READER_NONE) {
        reader_pid = start_reader();
        while (atomic_load(&rs->state) < 1) usleep(200);
        if (rs->error) fail_exit(1, "reader: %s", rs->error_what, rs->error);
    }

    struct container *cs;
    double cow_ns = -1, fork_alone_ns = 0, fork_busy_ns = 0;
    int fork_busy_ok = 0;
    uint64_t fork_loop_cpu_ns = 0;
    /* Every variant makes at most 2 x (4L + 6) ops (fsconfig-lowerdir-plus: per
     * layer open_tree, mount_setattr, fsconfig and close_tree; per pass fsopen,
     * three more fsconfig, fsmount and move_mount), plus the inspection unmount. */
    size_t room = 2 * (4 * (size_t)layers + 6) + 2;
    if (process_mode) {
        /* Before the release: what a fresh process's page fault costs on this machine now,
         * and what a fork costs with the other CPU idle and running. */
        cow_ns = cow_fault_ns();
        if (two_cpus) fork_busy_ok = fork_beside_busy(tcpus[0], tcpus[1], &fork_alone_ns, &fork_busy_ns) == 0;
        cs = shared_alloc((size_t)containers * sizeof *cs);
        for (int k = 0; k < containers; k++) {
            cs[k].index = k + 1;
            cs[k].ops = shared_alloc(room * sizeof *cs[k].ops);
            cs[k].cap = room;
        }
        pid_t *pids = calloc((size_t)containers, sizeof *pids);
        fork_loop_cpu_ns = thread_cpu_ns();
        release_ns = now_ns();
        if (rs) atomic_store(&rs->state, 2);
        for (int k = 0; k < containers; k++) {
            pids[k] = fork();
            if (pids[k] < 0) fail_exit(1, "%s", "fork a container process", errno);
            if (pids[k] == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                cs[k].forked_ns = now_ns() - release_ns;
                /* A forked child's CPU clock and fault count start at 0 (sched_fork, copy_process). */
                cs[k].start_cpu_ns = thread_cpu_ns();
                struct rusage ru0;
                if (getrusage(RUSAGE_SELF, &ru0) == 0) cs[k].start_faults = ru0.ru_minflt + ru0.ru_majflt;
                run_container(&cs[k]);
                struct rusage ru;
                if (getrusage(RUSAGE_SELF, &ru) == 0) cs[k].faults = ru.ru_minflt + ru.ru_majflt;
                /* A forked child has one thread: its thread's clock is the process's. */
                cs[k].end_cpu_ns = thread_cpu_ns();
                _exit(0);
            }
        }
        /* The forking thread's CPU over the loop: each fork's clone(), and the
         * copy-on-write faults the parent then takes on its own pages. */
        fork_loop_cpu_ns = thread_cpu_ns() - fork_loop_cpu_ns;
        for (int k = 0; k < containers; k++) {
            int st;
            struct rusage ru;
            if (wait4(pids[k], &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                snprintf(cs[k].error, sizeof cs[k].error, "%s", "the container process did not exit cleanly");
            else {
                /* wait4's times add up to the process's whole runtime (sum_exec_runtime, in us). */
                uint64_t total = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
                                 ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
                cs[k].exit_cpu_ns = total > cs[k].end_cpu_ns ? total - cs[k].end_cpu_ns : 0;
            }
        }
        free(pids);
    } else {
        cs = calloc((size_t)containers, sizeof *cs);
        /* Each thread's records exist, written once, before the release: a
         * thread's first malloc() makes glibc build it an arena (an mmap of
         * 64-128 MB, munmap and mprotect of its ends, then page faults), and in
         * a storm on a 2-vCPU guest that took 0.1-0.35 ms of each container's
         * first pass (the other vCPU runs a thread of the same memory, so the
         * unmaps shoot its TLB down), time that is neither the mount path nor
         * what a runtime pays per container (measurements/probe-arena-2026-12-01). */
        for (int k = 0; k < containers; k++) {
            cs[k].index = k + 1;
            cs[k].ops = malloc(room * sizeof *cs[k].ops);
            if (!cs[k].ops) fail_exit(1, "%s", "out of memory for the trace", 0);
            memset(cs[k].ops, 0, room * sizeof *cs[k].ops);
            cs[k].cap = room;
            if (pthread_create(&cs[k].thread, NULL, container_main, &cs[k]) != 0) fail_exit(1, "%s", "pthread_create", errno);
        }
        pthread_mutex_lock(&gate);
        while (ready_count < containers) pthread_cond_wait(&gate_cond, &gate);
        release_ns = now_ns();
        if (rs) atomic_store(&rs->state, 2);
        released = 1;
        pthread_cond_broadcast(&gate_cond);
        pthread_mutex_unlock(&gate);
        for (int k = 0; k < containers; k++) pthread_join(cs[k].thread, NULL);
    }
    uint64_t wall = now_ns() - release_ns;
    if (rs) {
        atomic_store(&rs->state, 3);
        int st;
        waitpid(reader_pid, &st, 0);
        if (rs->error) fail_exit(1, "reader: %s", rs->error_what, rs->error);
    }
    /* After the reader stopped: its reads are the storm's and the idle ones only. */
    double transfer_after = two_cpus ? transfer_ns(tcpus[0], tcpus[1], 21, 200, &terr) : -1;

    struct utsname uts;
    uname(&uts);
    uint64_t counts[OP_COUNT] = {0};
    for (int k = 0; k < containers; k++)
        for (size_t i = 0; i < cs[k].nops; i++) counts[cs[k].ops[i].op]++;
    if (trace) {
        /* Header as src/workload/trace.ts reads it (version 1 is strict about
         * fields, so the kernel release and shape go in the description). */
        fprintf(trace,
                "{\"format\":\"locksim-trace\",\"version\":1,\"variant\":\"%s\",\"source\":\"measured\","
                "\"description\":\"mountstorm probe: %d containers released together, %d layers, %d passes, "
                "kernel %s\",\"containers\":[",
                variant_names[variant], containers, layers, passes_of(variant), uts.release);
        for (int k = 0; k < containers; k++)
        {
            fprintf(trace, "%s{\"id\":\"c%04d\",\"layers\":%d,\"start_ns\":0", k ? "," : "", cs[k].index, layers);
            if (process_mode) fprintf(trace, ",\"process_start_ns\":%llu", (unsigned long long)cs[k].forked_ns);
            fprintf(trace, "}");
        }
        fprintf(trace, "]}\n");
        /* JSON-escaping is unnecessary: every path is built by this program
         * from --base, which must be a plain path (checked in main). */
        for (int k = 0; k < containers; k++)
            for (size_t i = 0; i < cs[k].nops; i++) {
                const struct op_record *r = &cs[k].ops[i];
                fprintf(trace, "{\"container\":\"c%04d\",\"op\":\"%s\",\"pass\":%d,", cs[k].index, op_names[r->op], r->pass);
                if (r->layer >= 0) fprintf(trace, "\"layer\":%d,", r->layer);
                if (r->path[0]) fprintf(trace, "\"path\":\"%s\",", r->path);
                fprintf(trace, "\"start_ns\":%llu,\"dur_ns\":%llu,\"tid\":%d}\n",
                        (unsigned long long)r->start_ns, (unsigned long long)r->dur_ns, r->tid);
            }
        if (fclose(trace) != 0) fail_exit(1, "cannot write trace %s", trace_path, errno);
    }

    uint64_t *lat = malloc((size_t)containers * sizeof *lat);
    double sum = 0;
    int failed = 0;
    for (int k = 0; k < containers; k++) {
        lat[k] = cs[k].done_ns;
        sum += (double)lat[k];
        if (cs[k].error[0]) {
            fprintf(stderr, "mountstorm: c%04d: %s\n", cs[k].index, cs[k].error);
            failed++;
        }
    }
    printf("{\"probe\":\"mountstorm\",\"variant\":\"%s\",\"layers\":%d,\"containers\":%d,\"passes\":%d,"
           "\"kernel\":\"%s\",\"failedContainers\":%d,\"wallNs\":%llu,\"launchNs\":[",
           variant_names[variant], layers, containers, passes_of(variant), uts.release, failed,
           (unsigned long long)wall);
    for (int k = 0; k < containers; k++) printf("%s%llu", k ? "," : "", (unsigned long long)lat[k]);
    qsort(lat, (size_t)containers, sizeof *lat, cmp_u64);
    printf("],\"meanNs\":%.0f,\"p50Ns\":%llu,\"p99Ns\":%llu,\"maxNs\":%llu,\"opCounts\":{", sum / containers,
           (unsigned long long)percentile_sorted(lat, (size_t)containers, 50),
           (unsigned long long)percentile_sorted(lat, (size_t)containers, 99),
           (unsigned long long)lat[containers - 1]);
    for (int o = 0; o < OP_COUNT; o++) printf("%s\"%s\":%llu", o ? "," : "", op_names[o], (unsigned long long)counts[o]);
    /* Median duration of each operation over all containers: what a per-peer
     * cost is fitted from (an op's own time, not the launch's queueing). */
    printf("},\"opP50Ns\":{");
    print_op_medians(cs, counts, 0);
    printf("}");
    if (op_cpu_time) {
        printf(",\"opCpuP50Ns\":{");
        print_op_medians(cs, counts, 1);
        printf("}");
    }
    if (propagation != PROP_LEGACY)
        printf(",\"propagation\":{\"mode\":\"%s\",\"peers\":%d,\"peerGroup\":%d,\"peersSetupNs\":%llu}",
               propagation_names[propagation], peers, group, (unsigned long long)peers_setup_ns);
    if (idle_mounts) printf(",\"idleMounts\":%d", idle_mounts);
    if (two_cpus && !terr) printf(",\"transferNs\":{\"before\":%.1f,\"after\":%.1f}", transfer_before, transfer_after);
    if (umount_flags) printf(",\"umountDetach\":true");
    if (unmount_inspection && variant != V_SHIFTED_UNTAR) printf(",\"unmountInspection\":true");
    if (process_mode) {
        printf(",\"processes\":true,\"processStartNs\":[");
        for (int k = 0; k < containers; k++) printf("%s%llu", k ? "," : "", (unsigned long long)cs[k].forked_ns);
        printf("],\"processFaults\":[");
        for (int k = 0; k < containers; k++) printf("%s%ld", k ? "," : "", cs[k].faults);
        printf("],\"processExitCpuNs\":[");
        for (int k = 0; k < containers; k++) printf("%s%llu", k ? "," : "", (unsigned long long)cs[k].exit_cpu_ns);
        printf("],\"processStartCpuNs\":[");
        for (int k = 0; k < containers; k++) printf("%s%llu", k ? "," : "", (unsigned long long)cs[k].start_cpu_ns);
        printf("],\"processStartFaults\":[");
        for (int k = 0; k < containers; k++) printf("%s%ld", k ? "," : "", cs[k].start_faults);
        printf("],\"forkLoopCpuNs\":%llu", (unsigned long long)fork_loop_cpu_ns);
        if (cow_ns > 0) printf(",\"cowFaultNs\":%.0f", cow_ns);
        if (fork_busy_ok) printf(",\"forkToChildNs\":{\"otherCpuIdle\":%.0f,\"otherCpuBusy\":%.0f}", fork_alone_ns, fork_busy_ns);
    }
    if (rs) {
        int n = atomic_load(&rs->count);
        printf(",\"reader\":{\"mode\":\"%s\",\"readSize\":%ld,\"reads\":[", reader_names[reader], read_size);
        for (int i = 0; i < n; i++) {
            const struct read_record *r = &rs->reads[i];
            /* Signed: idle reads started before the release. */
            long long start = (long long)r->start_ns - (long long)release_ns;
            printf("%s{\"startNs\":%lld,\"durNs\":%llu,\"cpuNs\":%llu,\"bytes\":%llu,\"syscalls\":%u,\"lines\":%u,\"duringStorm\":%s}",
                   i ? "," : "", start, (unsigned long long)r->dur_ns, (unsigned long long)r->cpu_ns, (unsigned long long)r->bytes, r->syscalls,
                   r->lines, start >= 0 && (uint64_t)start < wall ? "true" : "false");
        }
        printf("]}");
    }
    printf("}\n");
    return failed ? 1 : 0;
}
