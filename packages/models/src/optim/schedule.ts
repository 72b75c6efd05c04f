/** Learning-rate schedules: they live in @cutrec/kernels (src/ops/adamw/schedule.ts), beside the CUDA update that evaluates them on the device. */
export { checkSchedule, type LrSchedule, learningRate } from '@cutrec/kernels';
