// Lets the WebGPU tests run without a GPU: Dawn over Mesa's lavapipe (a Vulkan driver on the
// CPU), as scripts/webgpu-backend.sh stages it. A VK_DRIVER_FILES already set (a real GPU's
// driver) wins.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const SOFTWARE_VULKAN_ICD =
  process.env.TL_WEBGPU_CACHE !== undefined
    ? path.join(process.env.TL_WEBGPU_CACHE, 'lavapipe_icd.json')
    : path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tl-webgpu', 'lavapipe_icd.json');

/** Environment for a process that should find a Vulkan driver: {} when there is none. */
export function vulkanEnv(): Record<string, string> {
  if (process.env.VK_DRIVER_FILES) return { VK_DRIVER_FILES: process.env.VK_DRIVER_FILES };
  if (!fs.existsSync(SOFTWARE_VULKAN_ICD)) return {};
  // Mesa's window-system code warns on every start without a runtime dir; compute needs none.
  return { VK_DRIVER_FILES: SOFTWARE_VULKAN_ICD, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? os.tmpdir() };
}

/** Points this process's Vulkan loader at a driver, if one is known; true if so. */
export function useVulkanDriver(): boolean {
  const env = vulkanEnv();
  Object.assign(process.env, env);
  return env.VK_DRIVER_FILES !== undefined;
}

/** Whether the webgpu packages (Dawn, tfjs-backend-webgpu) are installed. */
export function webgpuInstalled(): boolean {
  try {
    require.resolve('webgpu');
    require.resolve('@tensorflow/tfjs-backend-webgpu');
    return true;
  } catch {
    return false;
  }
}
