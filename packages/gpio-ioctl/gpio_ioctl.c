/*
 * ioctl(2) for Node, nothing more: the GPIO character-device adapter
 * (edge/hardware/chardev-backend.ts) encodes and decodes the kernel's uAPI v2
 * structs itself (edge/hardware/gpio-uapi.ts), so this file holds no knowledge
 * of GPIO and no libgpiod: one call, the buffer passed through as the
 * argument, errno thrown as a Node error with its code.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <node_api.h>

/*
 * The errno by its name, as Node's own errors carry it. One this table does not
 * name gets "ERRNO_<n>", never another error's name: an emulator (qemu-user
 * answers an ioctl it cannot translate with ENOSYS) or a new kernel must not be
 * read as an I/O error of the chip.
 */
static napi_value throw_errno(napi_env env, int err) {
  char unnamed[24];
  const char *code = unnamed;
  snprintf(unnamed, sizeof unnamed, "ERRNO_%d", err);
  switch (err) {
    case EBUSY: code = "EBUSY"; break;
    case EINVAL: code = "EINVAL"; break;
    case EPERM: code = "EPERM"; break;
    case EACCES: code = "EACCES"; break;
    case EBADF: code = "EBADF"; break;
    case ENODEV: code = "ENODEV"; break;
    case ENOTTY: code = "ENOTTY"; break;
    case EFAULT: code = "EFAULT"; break;
    case EIO: code = "EIO"; break;
    case ENOMEM: code = "ENOMEM"; break;
    case EOPNOTSUPP: code = "EOPNOTSUPP"; break;
    case ENXIO: code = "ENXIO"; break;
    case ENOSYS: code = "ENOSYS"; break;
    case ENOENT: code = "ENOENT"; break;
    case EAGAIN: code = "EAGAIN"; break;
    case EINTR: code = "EINTR"; break;
    default: break;
  }
  napi_throw_error(env, code, strerror(err));
  return NULL;
}

/* ioctl(fd: number, request: number, arg: Buffer): number */
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) {
    napi_throw_type_error(env, "EINVAL", "ioctl(fd, request, buffer) takes three arguments");
    return NULL;
  }
  int32_t fd;
  uint32_t request;
  void *data;
  size_t length;
  bool is_buffer = false;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &request) != napi_ok ||
      napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[2], &data, &length) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "ioctl(fd: number, request: number, buffer: Buffer)");
    return NULL;
  }
  /* The size the request encodes is the struct the kernel copies in and out. */
  size_t wanted = (request >> _IOC_SIZESHIFT) & _IOC_SIZEMASK;
  if (length < wanted) {
    napi_throw_range_error(env, "EINVAL", "buffer smaller than the struct this ioctl request copies");
    return NULL;
  }
  int ret;
  do {
    ret = ioctl(fd, (unsigned long)request, data);
  } while (ret < 0 && errno == EINTR);
  if (ret < 0) return throw_errno(env, errno);
  napi_value out;
  napi_create_int32(env, ret, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "ioctl", NAPI_AUTO_LENGTH, js_ioctl, NULL, &fn);
  napi_set_named_property(env, exports, "ioctl", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
