/**
 * A typed client of the emulator's admin API (/_emulator/), for tests, the
 * benchmark and chaos runs. The admin API itself is the contract; this only saves
 * every caller from hand-writing fetch calls.
 */
export interface SeedImage {
  imageId: string;
  imageName?: string;
  imageType: 'User' | 'Shared' | 'System' | 'Community';
  aliUid: string | number;
  status: 'AVAILABLE' | 'INIT' | 'CREATING' | 'CREATE_FAILED';
  productType: 'CloudDesktop' | 'CloudApp' | 'WuyingServer';
  parentImageId?: string;
  regions: string[];
}

export interface SeedTemplate {
  templateId: string;
  templateName: string;
  imageId: string;
  [field: string]: unknown;
}

export interface SeedInstance {
  kind: 'AppInstanceGroup' | 'WuyingServer' | 'DesktopGroup';
  id: string;
  imageId: string;
  regionId: string;
}

export interface Fault {
  action: string;
  code?: string;
  httpStatus?: number;
  /** Default 1; -1 = always. */
  times?: number;
  regionId?: string;
  imageId?: string;
  templateId?: string;
  latencyMs?: number;
  probability?: number;
}

export interface EmulatorState {
  images: Array<SeedImage & Record<string, unknown>>;
  templates: SeedTemplate[];
  instances: SeedInstance[];
}

export interface EmulatorCall {
  at: string;
  action: string;
  params: Record<string, string>;
  httpStatus: number;
  code: string | null;
}

export class EmulatorAdmin {
  constructor(private readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/_emulator/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`emulator ${method} /_emulator/${path} answered ${response.status}: ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  reset(): Promise<void> {
    return this.call('POST', 'reset', {});
  }

  seed(seed: { images?: SeedImage[]; templates?: SeedTemplate[]; instances?: SeedInstance[] }): Promise<void> {
    return this.call('POST', 'seed', seed);
  }

  state(): Promise<EmulatorState> {
    return this.call('GET', 'state');
  }

  addFault(fault: Fault): Promise<{ id: string }> {
    return this.call('POST', 'faults', fault);
  }

  /** The faults still armed, each with how many calls it fired for so far. */
  faults(): Promise<Array<Fault & { id: string; fired: number }>> {
    return this.call('GET', 'faults');
  }

  clearFaults(): Promise<void> {
    return this.call('DELETE', 'faults');
  }

  limit(action: string, perSecond: number): Promise<void> {
    return this.call('POST', 'limits', { action, perSecond });
  }

  calls(): Promise<EmulatorCall[]> {
    return this.call('GET', 'calls');
  }

  clearCalls(): Promise<void> {
    return this.call('DELETE', 'calls');
  }
}
