/* A PKCS#11 module for tests: it forwards every call to the module named by
 * KMS_FAULT_TARGET (SoftHSM2), except that while the file named by KMS_FAULT_FILE
 * exists, the calls that use the token's keys or generator fail with the return value
 * the file holds (CKR_DEVICE_ERROR when it is empty): a token that fails mid-run and
 * comes back when the file goes.
 * While the file named by KMS_SLOW_FILE exists, each of those calls first sleeps the
 * number of milliseconds it holds: a token that is slow to answer.
 * Built by tests/xks.rs at test time (cc -shared). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned long CK_RV;
typedef unsigned long CK_ULONG;
typedef CK_RV (*Fn)(void);

/* CK_FUNCTION_LIST: the version, then the 68 functions of PKCS#11 v2.40 in order. */
struct version { unsigned char major, minor; };
struct function_list { struct version version; Fn fns[68]; };

enum { GET_FUNCTION_LIST = 3, FIND_OBJECTS_INIT = 26, ENCRYPT_INIT = 29, DECRYPT_INIT = 33, GENERATE_RANDOM = 64 };
#define CKR_GENERAL_ERROR 0x05UL
#define CKR_DEVICE_ERROR 0x30UL

static struct function_list *target;
static struct function_list shim;

/* 0 while the token works; else the return value to fail with. */
static CK_RV failing(void) {
    const char *file = getenv("KMS_FAULT_FILE");
    FILE *f = file ? fopen(file, "r") : NULL;
    unsigned long rv = CKR_DEVICE_ERROR;
    if (!f) return 0;
    if (fscanf(f, "%lu", &rv) != 1 || rv == 0) rv = CKR_DEVICE_ERROR;
    fclose(f);
    return rv;
}

static void slow_down(void) {
    const char *file = getenv("KMS_SLOW_FILE");
    FILE *f = file ? fopen(file, "r") : NULL;
    long ms = 0;
    if (f) {
        if (fscanf(f, "%ld", &ms) == 1 && ms > 0) usleep((useconds_t)ms * 1000);
        fclose(f);
    }
}

typedef CK_RV (*WithPointer)(CK_ULONG, void *, CK_ULONG);

static CK_RV forward(int index, CK_ULONG session, void *pointer, CK_ULONG value) {
    slow_down();
    CK_RV rv = failing();
    return rv ? rv : ((WithPointer)target->fns[index])(session, pointer, value);
}

static CK_RV find_objects_init(CK_ULONG s, void *template, CK_ULONG count) { return forward(FIND_OBJECTS_INIT, s, template, count); }
static CK_RV encrypt_init(CK_ULONG s, void *mechanism, CK_ULONG key) { return forward(ENCRYPT_INIT, s, mechanism, key); }
static CK_RV decrypt_init(CK_ULONG s, void *mechanism, CK_ULONG key) { return forward(DECRYPT_INIT, s, mechanism, key); }
static CK_RV generate_random(CK_ULONG s, void *out, CK_ULONG len) { return forward(GENERATE_RANDOM, s, out, len); }

CK_RV C_GetFunctionList(struct function_list **out) {
    if (!target) {
        const char *path = getenv("KMS_FAULT_TARGET");
        void *lib = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
        CK_RV (*get)(struct function_list **) = lib ? (CK_RV (*)(struct function_list **))dlsym(lib, "C_GetFunctionList") : NULL;
        if (!get || get(&target) != 0) return CKR_GENERAL_ERROR;
        memcpy(&shim, target, sizeof shim);
        shim.fns[GET_FUNCTION_LIST] = (Fn)C_GetFunctionList;
        shim.fns[FIND_OBJECTS_INIT] = (Fn)find_objects_init;
        shim.fns[ENCRYPT_INIT] = (Fn)encrypt_init;
        shim.fns[DECRYPT_INIT] = (Fn)decrypt_init;
        shim.fns[GENERATE_RANDOM] = (Fn)generate_random;
    }
    *out = &shim;
    return 0;
}
