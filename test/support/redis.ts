export { freePort, startRedis, freshPrefix, deletePrefix } from '../queue/helpers';
