"""What a process runs on: the device, mixed precision (and the CPU calibration behind its
'auto' mode), and the allocator tuning that keeps big tensors mapped."""
