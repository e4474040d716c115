{
  "targets": [
    {
      "target_name": "gpio_ioctl",
      "sources": ["gpio_ioctl.c"]
    }
  ]
}
