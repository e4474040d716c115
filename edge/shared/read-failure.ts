/**
 * Why a file could not be read, in Chinese, for the Chinese half of a message
 * whose English half carries Node's own text (ENOENT: no such file …).
 */
export function readFailureZh(code: string | undefined): string {
  if (code === 'ENOENT') return '文件不存在'
  if (code === 'EACCES' || code === 'EPERM') return '没有读取权限'
  if (code === 'EISDIR') return '这是一个文件夹，不是文件'
  return '读取失败'
}
