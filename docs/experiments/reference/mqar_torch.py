# Independent reference for the MQAR plateau (docs/experiments/README.md): the transformer of
# recall-long.json (width 64, 4 heads, RoPE, pre-RMSNorm, attention/SwiGLU blocks "AFAF", untied output,
# N(0, 0.02) weights, residual projections 0.02/sqrt(layers)) on the same task (jlm-tasks MultiQueryRecall:
# k1 v1 .. kn vn SEP q1 a1 .., keys and values 32 each, 4 or 8 pairs, loss on the answers only), with AdamW
# (0.9, 0.95), warm-up 50 then cosine lr 3e-3 -> 3e-4, weight decay 0.1 on matrices, clip 1.0, batch 32.
# Written for this project, in PyTorch, to check that jlm's trainer is not the reason the transformer sits on
# the plateau.  Usage: python3 mqar_torch.py [steps=4000] [lr=3e-3] [wd=0.1] [batch=32] [pairs=4,8] ...
import torch, math, sys, time, random
import torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2)
args = dict(a.split('=') for a in sys.argv[1:])
D=int(args.get('dim',64)); H=int(args.get('heads',4)); FF=int(args.get('ffn',128)); L=args.get('layers','AFAF')
STEPS=int(args.get('steps',4000)); B=int(args.get('batch',32)); LR=float(args.get('lr',3e-3)); WD=float(args.get('wd',0.1))
PAIRS=[int(x) for x in args.get('pairs','4,8').split(',')]; KEYS=int(args.get('keys',32)); VALS=int(args.get('values',32))
POS=args.get('pos','rope'); SEED=int(args.get('seed',7))
torch.manual_seed(SEED); rnd=random.Random(SEED)
V=KEYS+VALS+1; T=2*max(PAIRS)+1+2*max(PAIRS)
def sample(n):
    k=rnd.sample(range(KEYS),n); v=[KEYS+rnd.randrange(VALS) for _ in range(n)]; q=rnd.sample(range(n),n)
    toks=[]; 
    for i in range(n): toks+= [k[i],v[i]]
    toks.append(KEYS+VALS); tg=[-1]*len(toks)
    for j in q:
        tg.append(v[j]); toks.append(k[j]); toks.append(v[j]); tg.append(-1)
    # targets: prediction at position p is for token p+1; scored at query key position
    return toks, tg
def batch(bs):
    ids=torch.zeros(bs,T,dtype=torch.long); tg=torch.full((bs,T),-1,dtype=torch.long)
    for r in range(bs):
        t,g=sample(rnd.choice(PAIRS)); ids[r,:len(t)]=torch.tensor(t); tg[r,:len(g)]=torch.tensor(g)
    return ids,tg
class RMS(nn.Module):
    def __init__(s,d): super().__init__(); s.w=nn.Parameter(torch.ones(d))
    def forward(s,x): return x*torch.rsqrt(x.pow(2).mean(-1,keepdim=True)+1e-5)*s.w
def rope(x):  # x: B,H,T,hs  (pairs of adjacent dims)
    b,h,t,hs=x.shape; inv=10000**(-torch.arange(0,hs,2).float()/hs); ang=torch.arange(t).float()[:,None]*inv[None]
    c,s=ang.cos(),ang.sin(); x1=x[...,0::2]; x2=x[...,1::2]
    out=torch.empty_like(x); out[...,0::2]=x1*c-x2*s; out[...,1::2]=x1*s+x2*c; return out
class Attn(nn.Module):
    def __init__(s): super().__init__(); s.qkv=nn.Linear(D,3*D,bias=False); s.o=nn.Linear(D,D,bias=False)
    def forward(s,x):
        b,t,_=x.shape; q,k,v=s.qkv(x).view(b,t,3,H,D//H).permute(2,0,3,1,4)
        if POS=='rope': q,k=rope(q),rope(k)
        att=(q@k.transpose(-1,-2))/math.sqrt(D//H)
        att=att.masked_fill(torch.triu(torch.ones(t,t,dtype=torch.bool),1),float('-inf'))
        y=att.softmax(-1)@v
        return s.o(y.transpose(1,2).reshape(b,t,D))
class FFN(nn.Module):
    def __init__(s): super().__init__(); s.g=nn.Linear(D,FF,bias=False); s.u=nn.Linear(D,FF,bias=False); s.d=nn.Linear(FF,D,bias=False)
    def forward(s,x): return s.d(F.silu(s.g(x))*s.u(x))
class M(nn.Module):
    def __init__(s):
        super().__init__(); s.emb=nn.Embedding(V,D); s.norms=nn.ModuleList([RMS(D) for _ in L])
        s.mix=nn.ModuleList([Attn() if c=='A' else FFN() for c in L]); s.on=RMS(D); s.out=nn.Linear(D,V,bias=False)
        for n,p in s.named_parameters():
            if p.dim()==2: nn.init.normal_(p,0,0.02/math.sqrt(len(L)) if (n.endswith('o.weight') or n.endswith('d.weight')) else 0.02)
    def forward(s,x):
        h=s.emb(x)
        for n,m in zip(s.norms,s.mix): h=h+m(n(h))
        return s.out(s.on(h))
m=M(); 
decay=[p for p in m.parameters() if p.dim()==2]; nod=[p for p in m.parameters() if p.dim()<2]
opt=torch.optim.AdamW([{'params':decay,'weight_decay':WD},{'params':nod,'weight_decay':0}],lr=LR,betas=(0.9,0.95))
WARM=50; MIN=LR/10
def lr_at(i):
    if i<WARM: return LR*(i+1)/WARM
    r=(i-WARM)/max(1,STEPS-WARM); return MIN+0.5*(1+math.cos(math.pi*r))*(LR-MIN)
def evaluate(n,ex=128):
    global rnd; save=rnd; rnd=random.Random(999+n)
    ids=torch.zeros(ex,4*n+1,dtype=torch.long); tg=torch.full((ex,4*n+1),-1)
    for r in range(ex):
        t,g=sample(n); ids[r]=torch.tensor(t); tg[r]=torch.tensor(g)
    rnd=save
    with torch.no_grad():
        lg=m(ids); pr=lg.argmax(-1); msk=tg>=0
        return ((pr==tg)&msk).sum().item()/msk.sum().item()
t0=time.time()
for i in range(STEPS):
    for gr in opt.param_groups: gr['lr']=lr_at(i)
    ids,tg=batch(B); lg=m(ids); loss=F.cross_entropy(lg.view(-1,V),tg.view(-1),ignore_index=-1)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(m.parameters(),1.0); opt.step()
    if i%250==0 or i==STEPS-1: print(f"{i} loss {loss.item():.4f} acc4 {evaluate(4):.3f} acc8 {evaluate(8):.3f} t {time.time()-t0:.0f}s",flush=True)
