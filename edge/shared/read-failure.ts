/**
 * Why a file could not be read, in Chinese, for the Chinese half of a message; readFailureEn
 * gives the English half, so a technician reads the cause in words rather than ENOENT.
 */
export function readFailureZh(code: string | undefined): string {
  if (code === 'ENOENT') return '文件不存在'
  if (code === 'EACCES' || code === 'EPERM') return '没有读取权限'
  if (code === 'EISDIR') return '这是一个文件夹，不是文件'
  return '读取失败'
}

/** The English half to match readFailureZh: the cause in words, Node's own text only for a cause not named here. */
export function readFailureEn(e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return 'the file does not exist'
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'no permission to read it'
  if (e.code === 'EISDIR') return 'it is a folder, not a file'
  return e.message
}
