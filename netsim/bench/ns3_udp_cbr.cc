// The ns-3 side of netsim/bench/ns3_compare.sh: two nodes joined by one point-to-point
// link, a constant-rate UDP sender (OnOffApplication, always on) and a packet sink.
//
//   ns3_udp_cbr --rate=100Mbps --delay=50ms --send=95Mbps --seconds=60 --loss=0.01 --queue=8334
//
// Link: rate and one-way delay as given; the sender's device queue is a drop-tail queue
// of `queue` packets (one bandwidth-delay product in the script) and no traffic-control
// queue disc sits in front of it; the receiver's device drops each packet with
// probability `loss` (RateErrorModel, per packet). Datagrams are 1472 bytes of UDP
// payload (1500-byte IP packets, like a UDT flow with the default MSS). Prints one line:
// packets and bytes received, and the simulated seconds.
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <cstdio>

using namespace ns3;

int
main(int argc, char* argv[])
{
    std::string rate = "100Mbps";
    std::string delay = "50ms";
    std::string send = "95Mbps";
    double seconds = 60.0;
    double loss = 0.01;
    uint32_t queue = 8334;
    uint32_t seed = 1;

    CommandLine cmd;
    cmd.AddValue("rate", "link rate", rate);
    cmd.AddValue("delay", "one-way propagation delay", delay);
    cmd.AddValue("send", "UDP sending rate", send);
    cmd.AddValue("seconds", "simulated time the sender runs", seconds);
    cmd.AddValue("loss", "packet error rate at the receiver", loss);
    cmd.AddValue("queue", "drop-tail queue of the sender's device, packets", queue);
    cmd.AddValue("seed", "run number of the random streams", seed);
    cmd.Parse(argc, argv);
    RngSeedManager::SetRun(seed);

    NodeContainer nodes;
    nodes.Create(2);

    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue(rate));
    p2p.SetChannelAttribute("Delay", StringValue(delay));
    p2p.SetQueue("ns3::DropTailQueue<Packet>",
                 "MaxSize",
                 QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, queue)));
    NetDeviceContainer devices = p2p.Install(nodes);

    Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
    em->SetAttribute("ErrorUnit", EnumValue(RateErrorModel::ERROR_UNIT_PACKET));
    em->SetAttribute("ErrorRate", DoubleValue(loss));
    devices.Get(1)->SetAttribute("ReceiveErrorModel", PointerValue(em));

    InternetStackHelper stack;
    stack.Install(nodes);
    Ipv4AddressHelper address;
    address.SetBase("10.0.0.0", "255.255.255.0");
    Ipv4InterfaceContainer ifaces = address.Assign(devices);
    // Only the device's drop-tail queue: remove the default queue disc.
    TrafficControlHelper tch;
    tch.Uninstall(devices);

    uint16_t port = 9000;
    OnOffHelper onoff("ns3::UdpSocketFactory", InetSocketAddress(ifaces.GetAddress(1), port));
    onoff.SetConstantRate(DataRate(send), 1472);
    ApplicationContainer src = onoff.Install(nodes.Get(0));
    src.Start(Seconds(0.0));
    src.Stop(Seconds(seconds));

    PacketSinkHelper sinkHelper("ns3::UdpSocketFactory",
                                InetSocketAddress(Ipv4Address::GetAny(), port));
    ApplicationContainer sink = sinkHelper.Install(nodes.Get(1));
    sink.Start(Seconds(0.0));

    Simulator::Stop(Seconds(seconds));
    Simulator::Run();
    Ptr<PacketSink> ps = DynamicCast<PacketSink>(sink.Get(0));
    uint64_t bytes = ps->GetTotalRx();
    std::printf("ns3: received %llu bytes (%llu packets) in %.0f simulated s\n",
                (unsigned long long)bytes,
                (unsigned long long)(bytes / 1472),
                seconds);
    Simulator::Destroy();
    return 0;
}
