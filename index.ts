import { deploy } from "./program";

/** Per service: endpoint URL, the image actually deployed, the container name and its host. */
export const services = deploy();
