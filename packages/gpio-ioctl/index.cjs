'use strict'
// The addon node-gyp built on install (build/Release), like i2c-bus's.
module.exports = require('./build/Release/gpio_ioctl.node')
