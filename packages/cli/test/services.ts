// The PostgreSQL and Slurm services of the store and cluster tests (one implementation, in robusta's tests).
export { startService } from 'robusta/testing/study/services';
